// Writing a JWT-SVID (JWT-SVID §2, §3): header alg, kid, typ JWT; claims sub (the SPIFFE ID), aud (one or more),
// exp, iat, and iss when an issuer is configured (OIDC relying parties such as cloud token services need it).
// Nothing else: the spec forbids other headers, and extra claims would hurt interoperability.
import type { KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SpiffeId } from '../spiffe/id.js';
import type { SigningAlgorithm } from './algorithms.js';
import { JwtSvidError } from './errors.js';

export const DEFAULT_JWT_SVID_TTL_MS = 5 * 60_000;
/** Hard maximum: a JWT-SVID is a bearer token; the CA also keeps an old key only this long after it stops signing. */
export const MAX_JWT_SVID_TTL_MS = 3600_000;
export const MIN_JWT_SVID_TTL_MS = 1000;
export const MAX_AUDIENCES = 16;
export const MAX_AUDIENCE_LENGTH = 512;

/** A minted JWT-SVID and what it says. */
export interface JwtSvid {
  readonly token: string;
  readonly spiffeId: SpiffeId;
  readonly audience: readonly string[];
  readonly keyId: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

export interface JwtSvidSigning {
  readonly privateKey: KeyObject;
  readonly keyId: string;
  readonly algorithm: SigningAlgorithm;
  readonly spiffeId: SpiffeId;
  readonly audience: readonly string[];
  /** Seconds since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly issuer?: string;
}

/** Checks an audience list for minting: one or more non-empty strings, bounded in count and length, no duplicates. */
export function checkAudience(audience: readonly string[], where = 'audience'): string[] {
  if (audience.length === 0) throw new JwtSvidError('JWT_MINT_INVALID', `${where}: a JWT-SVID needs at least one audience (JWT-SVID §3.2)`);
  if (audience.length > MAX_AUDIENCES) throw new JwtSvidError('JWT_MINT_INVALID', `${where}: at most ${MAX_AUDIENCES} audiences, got ${audience.length}`);
  for (const a of audience) {
    if (typeof a !== 'string' || a === '') throw new JwtSvidError('JWT_MINT_INVALID', `${where}: an audience must be a non-empty string`);
    if (a.length > MAX_AUDIENCE_LENGTH) throw new JwtSvidError('JWT_MINT_INVALID', `${where}: an audience is longer than ${MAX_AUDIENCE_LENGTH} characters`);
  }
  if (new Set(audience).size !== audience.length) throw new JwtSvidError('JWT_MINT_INVALID', `${where}: audiences repeat`);
  return [...audience];
}

export async function signJwtSvid(s: JwtSvidSigning): Promise<string> {
  // A single audience is written as a string (RFC 7519 §4.1.3 allows both), the form most relying parties expect.
  const aud = s.audience.length === 1 ? s.audience[0]! : [...s.audience];
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: s.algorithm, kid: s.keyId, typ: 'JWT' })
    .setSubject(s.spiffeId.toString())
    .setAudience(aud)
    .setExpirationTime(s.expiresAt)
    .setIssuedAt(s.issuedAt);
  if (s.issuer !== undefined) jwt.setIssuer(s.issuer);
  return jwt.sign(s.privateKey);
}
