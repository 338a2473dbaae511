// Tokens live one per file (<dir>/<hash>.json) so that `trustplane token create` and a running server never
// rewrite a shared file; spending a token is a rename to <hash>.used, which only one consumer can win, so a
// token is single-use even across processes. Spent records stay until expiry so reuse is reported as reuse.
import { readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makePrivateDir } from '../../io/files.js';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../clock.js';
import { assertNodeName } from './node-id.js';
import {
  generateJoinToken,
  hashJoinToken,
  JoinTokenError,
  parseJoinTokenRecord,
  type JoinTokenRecord,
} from './join-token.js';

export interface CreatedJoinToken {
  /** The secret: printed once, never stored. */
  readonly token: string;
  readonly node: string;
  readonly expiresAt: Date;
}

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** What node attestation needs of join tokens: spend one (once, across every replica), give it back on failure. */
export interface JoinTokens {
  consume(token: string): Promise<{ node: string }>;
  restore(token: string): Promise<void>;
}

export class JoinTokenStore implements JoinTokens {
  constructor(
    readonly dir: string,
    private readonly clock: Clock,
  ) {}

  async create(node: string, ttlMs: number): Promise<CreatedJoinToken> {
    assertNodeName(node);
    await this.#ensureDir();
    const token = generateJoinToken();
    const now = this.clock.now();
    const record: JoinTokenRecord = { node, createdAt: now, expiresAt: now + ttlMs };
    const path = join(this.dir, `${hashJoinToken(token)}.json`);
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(record), { mode: 0o600, flag: 'wx' });
    await rename(tmp, path);
    await this.prune();
    return { token, node, expiresAt: new Date(record.expiresAt) };
  }

  /** Spends a token and returns the node it was created for; throws JoinTokenError with a distinct code otherwise. */
  async consume(token: string): Promise<{ node: string }> {
    const hash = hashJoinToken(token);
    const live = join(this.dir, `${hash}.json`);
    const spent = join(this.dir, `${hash}.used`);
    let record: JoinTokenRecord;
    try {
      record = parseJoinTokenRecord(await readFile(live, 'utf8'));
    } catch (e) {
      if (!isNotFound(e)) throw e;
      throw await this.#missing(spent);
    }
    if (this.clock.now() >= record.expiresAt) {
      await rm(live, { force: true });
      throw expired(record);
    }
    try {
      await rename(live, spent);
    } catch (e) {
      if (isNotFound(e)) throw used();
      throw e;
    }
    return { node: record.node };
  }

  /**
   * Gives back a token spent by consume() whose node then got nothing (the CA failed): the node may try again.
   * Only the consumer that won the rename calls this, so nobody else can be holding the token meanwhile.
   */
  async restore(token: string): Promise<void> {
    const hash = hashJoinToken(token);
    await rename(join(this.dir, `${hash}.used`), join(this.dir, `${hash}.json`));
  }

  /** Removes records (live or spent) whose token has expired. */
  async prune(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if (isNotFound(e)) return 0;
      throw e;
    }
    let removed = 0;
    for (const name of names) {
      if (!/^[0-9a-f]{64}\.(json|used)$/.test(name)) continue;
      const path = join(this.dir, name);
      try {
        if (this.clock.now() >= parseJoinTokenRecord(await readFile(path, 'utf8')).expiresAt) {
          await rm(path, { force: true });
          removed++;
        }
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return removed;
  }

  async #ensureDir(): Promise<void> {
    makePrivateDir(this.dir, 'the join token directory');
  }

  async #missing(spent: string): Promise<JoinTokenError> {
    try {
      const record = parseJoinTokenRecord(await readFile(spent, 'utf8'));
      return this.clock.now() >= record.expiresAt ? expired(record) : used();
    } catch (e) {
      if (!isNotFound(e)) throw e;
      return new JoinTokenError(
        'JOIN_TOKEN_UNKNOWN',
        'join token is not known to this server: create one with `trustplane token create --node NAME` on it',
      );
    }
  }
}

function expired(record: JoinTokenRecord): JoinTokenError {
  return new JoinTokenError(
    'JOIN_TOKEN_EXPIRED',
    `join token for node ${record.node} expired at ${new Date(record.expiresAt).toISOString()}; create a new one`,
  );
}

function used(): JoinTokenError {
  return new JoinTokenError('JOIN_TOKEN_USED', 'join token was already used; each token admits one node once');
}
