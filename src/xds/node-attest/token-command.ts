// What `trustplane token create --node N --ttl 10m` does, without argument parsing or printing (the CLI's job).
import { join } from 'node:path';
import { systemClock, type Clock } from '../../clock.js';
import { parseTtl } from './join-token.js';
import { JoinTokenStore, type CreatedJoinToken } from './join-token-store.js';

export const DEFAULT_JOIN_TOKEN_TTL = '10m';

/** Where join tokens live inside a data directory. */
export function joinTokenDir(dataDir: string): string {
  return join(dataDir, 'join-tokens');
}

export async function createJoinToken(opts: {
  dataDir: string;
  node: string;
  ttl?: string;
  clock?: Clock;
}): Promise<CreatedJoinToken> {
  const store = new JoinTokenStore(joinTokenDir(opts.dataDir), opts.clock ?? systemClock);
  return store.create(opts.node, parseTtl(opts.ttl ?? DEFAULT_JOIN_TOKEN_TTL));
}
