// JWT authorities: the public keys a trust domain signs JWT-SVIDs with, as carried in its SPIFFE bundle
// (JWT-SVID §6: one JWK per key, "use": "jwt-svid", "kid" set). Pure: parsing and writing JWK members only.
import { createPublicKey } from 'node:crypto';
import { BundleError } from './bundle-error.js';

export const JWT_SVID_USE = 'jwt-svid';

/** The public parameters of a JWT signing key, by key type (RFC 7518 §6). */
export const JWT_KEY_PARAMS: Readonly<Record<string, readonly string[]>> = { EC: ['crv', 'x', 'y'], RSA: ['n', 'e'] };
const EC_CURVES = new Set(['P-256', 'P-384', 'P-521']);
const MAX_KID_LENGTH = 256;

/** One JWT signing key of a trust domain: its key ID and public key (JWK members kty and the key's parameters). */
export interface JwtAuthority {
  readonly keyId: string;
  /** e.g. { kty: 'EC', crv: 'P-256', x, y } or { kty: 'RSA', n, e }; nothing else. */
  readonly publicKey: Readonly<Record<string, string>>;
}

/**
 * A JwtAuthority from a public JWK as node:crypto writes it (from generateKeyPair's publicKeyEncoding, or
 * KeyObject.export): only kty and the key's public parameters are kept.
 */
export function jwtAuthorityOf(keyId: string, jwk: Readonly<Record<string, unknown>>): JwtAuthority {
  const kty = String(jwk['kty']);
  const publicKey: Record<string, string> = { kty };
  for (const p of JWT_KEY_PARAMS[kty] ?? []) publicKey[p] = String(jwk[p]);
  return Object.freeze({ keyId, publicKey: Object.freeze(publicKey) });
}

/** The bundle entry of a JWT authority (SPIFFE Trust Domain and Bundle §4.2, JWT-SVID §6.1). */
export function jwtAuthorityJwk(a: JwtAuthority): Record<string, string> {
  return { ...a.publicKey, use: JWT_SVID_USE, kid: a.keyId };
}

/**
 * One "jwt-svid" entry of a bundle's "keys", or undefined for a key type this implementation does not know
 * (§4.2.1: ignored). A key it knows but that is malformed, or has no "kid", makes the document invalid.
 */
export function parseJwtAuthority(key: Record<string, unknown>, at: string, keyIndex: number): JwtAuthority | undefined {
  const kty = key['kty'];
  if (typeof kty !== 'string' || !(kty in JWT_KEY_PARAMS)) return undefined;
  const fail = (code: 'MISSING_KID' | 'BAD_JWK', msg: string): BundleError => new BundleError(code, `${at}: ${msg}`, { keyIndex });
  const kid = key['kid'];
  if (typeof kid !== 'string' || kid === '') throw fail('MISSING_KID', `a "${JWT_SVID_USE}" key must have a "kid" (a non-empty string)`);
  if (kid.length > MAX_KID_LENGTH) throw fail('BAD_JWK', `"kid" is longer than ${MAX_KID_LENGTH} characters`);
  const publicKey: Record<string, string> = { kty };
  for (const p of JWT_KEY_PARAMS[kty]!) {
    const v = key[p];
    if (typeof v !== 'string' || v === '' || (p !== 'crv' && !/^[A-Za-z0-9_-]+$/.test(v))) {
      throw fail('BAD_JWK', `"${p}" of key "${kid}" must be a base64url string`);
    }
    publicKey[p] = v;
  }
  if (kty === 'EC' && !EC_CURVES.has(publicKey['crv']!)) return undefined;
  if ('d' in key || 'p' in key || 'k' in key) throw fail('BAD_JWK', `key "${kid}" carries private key members; a bundle holds public keys only`);
  try {
    // Proves the parameters form a public key (a point on the curve, an RSA modulus) before anyone verifies with it.
    createPublicKey({ key: publicKey as never, format: 'jwk' });
  } catch {
    throw fail('BAD_JWK', `key "${kid}" is not a valid ${kty} public key`);
  }
  return Object.freeze({ keyId: kid, publicKey: Object.freeze(publicKey) });
}

/** Whether two authorities are the same key under the same ID. */
export function sameJwtAuthority(a: JwtAuthority, b: JwtAuthority): boolean {
  if (a.keyId !== b.keyId) return false;
  const ka = Object.keys(a.publicKey);
  return ka.length === Object.keys(b.publicKey).length && ka.every((k) => a.publicKey[k] === b.publicKey[k]);
}

/**
 * The keys of a plain JWK Set (an OIDC jwks_uri, a JWT bundle): every entry with a known key type and a kid, whatever
 * its "use" ("sig", "jwt-svid" or none); x509-svid entries and unknown key types are skipped.
 */
export function parseJwks(doc: unknown, what: string): JwtAuthority[] {
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (typeof doc !== 'object' || doc === null || !Array.isArray(keys)) throw new BundleError('MISSING_KEYS', `${what}: not a JWK Set (an object with a "keys" array)`);
  const out: JwtAuthority[] = [];
  keys.forEach((k, i) => {
    if (typeof k !== 'object' || k === null || Array.isArray(k)) throw new BundleError('BAD_KEY', `${what}: key ${i} is not a JWK object`, { keyIndex: i });
    if ((k as Record<string, unknown>)['use'] === 'x509-svid') return;
    const a = parseJwtAuthority(k as Record<string, unknown>, `${what}: key ${i}`, i);
    if (!a) return;
    if (out.some((b) => b.keyId === a.keyId)) throw new BundleError('DUPLICATE_KID', `${what}: key ${i}: "kid" "${a.keyId}" is used by an earlier key`, { keyIndex: i });
    out.push(a);
  });
  return out;
}
