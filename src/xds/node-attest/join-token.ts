// Join tokens bootstrap a node's first SVID. Only a hash of a token is ever stored, so a reader of the data
// directory cannot join; tokens carry 256 random bits, so an unsalted SHA-256 is enough to make them unguessable.
import { createHash, randomBytes } from 'node:crypto';
import { TrustplaneError } from '../../errors.js';

export class JoinTokenError extends TrustplaneError {}

export type JoinTokenErrorCode =
  | 'JOIN_TOKEN_MALFORMED'
  | 'JOIN_TOKEN_UNKNOWN'
  | 'JOIN_TOKEN_EXPIRED'
  | 'JOIN_TOKEN_USED'
  | 'JOIN_TOKEN_TTL_INVALID';

const PREFIX = 'tpjt_';
const TOKEN = /^tpjt_[A-Za-z0-9_-]{43}$/;

/** What is kept about a token: never the token itself. */
export interface JoinTokenRecord {
  readonly node: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export function generateJoinToken(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/** Hex SHA-256 of a well-formed token; throws JOIN_TOKEN_MALFORMED otherwise (never echoing the token). */
export function hashJoinToken(token: string): string {
  if (!TOKEN.test(token)) {
    throw new JoinTokenError(
      'JOIN_TOKEN_MALFORMED',
      `join token is malformed: accepted is "${PREFIX}" followed by 43 base64url characters, as printed by \`trustplane token create\``,
    );
  }
  return createHash('sha256').update(token).digest('hex');
}

export function parseJoinTokenRecord(json: string): JoinTokenRecord {
  const v = JSON.parse(json) as Partial<JoinTokenRecord>;
  if (typeof v.node !== 'string' || typeof v.createdAt !== 'number' || typeof v.expiresAt !== 'number') {
    throw new JoinTokenError('JOIN_TOKEN_UNKNOWN', 'join token record is damaged; create a new token');
  }
  return { node: v.node, createdAt: v.createdAt, expiresAt: v.expiresAt };
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000 };

/** "90s", "10m", "1h" → milliseconds. */
export function parseTtl(ttl: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(ttl.trim());
  const ms = m ? Number(m[1]) * UNITS[m[2]!]! : NaN;
  if (!(ms > 0) || ms > 24 * UNITS.h!) {
    throw new JoinTokenError(
      'JOIN_TOKEN_TTL_INVALID',
      `join token TTL ${JSON.stringify(ttl)} is not valid: accepted is a number with s, m or h, from 1s up to 24h (e.g. 10m)`,
    );
  }
  return ms;
}
