// Join tokens kept in the datastore, so that a token created on one replica works on any, and works once: the
// datastore's consume is a single atomic step, whichever replicas a node (or an attacker) presents it to.
import type { Clock } from '../clock.js';
import type { Datastore } from '../datastore/index.js';
import { assertNodeName } from '../xds/node-attest/node-id.js';
import { generateJoinToken, hashJoinToken, JoinTokenError } from '../xds/node-attest/join-token.js';

export class DatastoreJoinTokens {
  constructor(
    readonly datastore: Datastore,
    private readonly clock: Clock,
  ) {}

  async create(node: string, ttlMs: number): Promise<{ token: string; node: string; expiresAt: Date }> {
    assertNodeName(node);
    const token = generateJoinToken();
    const now = this.clock.now();
    await this.datastore.createJoinToken({ hash: hashJoinToken(token), node, createdAt: now, expiresAt: now + ttlMs });
    await this.datastore.pruneJoinTokens(now);
    return { token, node, expiresAt: new Date(now + ttlMs) };
  }

  async consume(token: string): Promise<{ node: string }> {
    const r = await this.datastore.consumeJoinToken(hashJoinToken(token), this.clock.now());
    if (r.ok) return { node: r.node };
    if (r.reason === 'used') throw new JoinTokenError('JOIN_TOKEN_USED', 'join token was already used; each token admits one node once');
    if (r.reason === 'expired') {
      throw new JoinTokenError('JOIN_TOKEN_EXPIRED', `join token for node ${r.node} expired at ${new Date(r.expiresAt ?? 0).toISOString()}; create a new one`);
    }
    throw new JoinTokenError('JOIN_TOKEN_UNKNOWN', 'join token is not known to this trust domain: create one with `trustplane token create --node NAME`');
  }

  async restore(token: string): Promise<void> {
    await this.datastore.restoreJoinToken(hashJoinToken(token));
  }

  async prune(): Promise<number> {
    return this.datastore.pruneJoinTokens(this.clock.now());
  }
}
