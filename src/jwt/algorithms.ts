// Which JWS algorithms JWT-SVIDs may use, and which keys trustplane signs with.
import { generateKeyPairSync } from 'node:crypto';
import { JwtSvidError } from './errors.js';

/** JWT-SVID §2.1: RFC 7518 §3.3 (RS*), §3.4 (ES*), §3.5 (PS*). Anything else, `none` and HMAC included, is refused. */
export const JWT_SVID_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'] as const;
export type JwtSvidAlgorithm = (typeof JWT_SVID_ALGORITHMS)[number];

/** What trustplane's CA signs with: ES256 by default; RS256 for relying parties that take RSA only (e.g. Azure). */
export const SIGNING_ALGORITHMS = ['ES256', 'ES384', 'RS256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];
export const DEFAULT_SIGNING_ALGORITHM: SigningAlgorithm = 'ES256';

export function isJwtSvidAlgorithm(alg: unknown): alg is JwtSvidAlgorithm {
  return typeof alg === 'string' && (JWT_SVID_ALGORITHMS as readonly string[]).includes(alg);
}

export function parseSigningAlgorithm(value: string, where = 'JWT signing algorithm'): SigningAlgorithm {
  const v = value.toUpperCase();
  if ((SIGNING_ALGORITHMS as readonly string[]).includes(v)) return v as SigningAlgorithm;
  throw new JwtSvidError('JWT_MINT_INVALID', `${where}: "${value}" is not supported; accepted: ${SIGNING_ALGORITHMS.join(', ')}`);
}

/** The key types each algorithm verifies with (kty, and crv for EC). */
export function algorithmFitsKey(alg: JwtSvidAlgorithm, publicKey: Readonly<Record<string, string>>): boolean {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return publicKey['kty'] === 'RSA';
  const crv = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg as 'ES256' | 'ES384' | 'ES512'];
  return publicKey['kty'] === 'EC' && publicKey['crv'] === crv;
}

export interface GeneratedJwtKey {
  /** PKCS#8 PEM, for the key file. */
  readonly privateKeyPem: string;
  /** The public key as a JWK, straight from the generator (KeyObject.export after generateKeyPairSync has deadlocked). */
  readonly publicJwk: Record<string, unknown>;
}

export function generateJwtKey(alg: SigningAlgorithm): GeneratedJwtKey {
  const encodings = { publicKeyEncoding: { format: 'jwk' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } };
  // @types/node has no overload for a JWK publicKeyEncoding, which node:crypto supports.
  const generate = generateKeyPairSync as unknown as (type: 'rsa' | 'ec', options: object) => { publicKey: Record<string, unknown>; privateKey: string };
  const pair = alg === 'RS256' ? generate('rsa', { modulusLength: 2048, ...encodings }) : generate('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384', ...encodings });
  return { privateKeyPem: pair.privateKey, publicJwk: pair.publicKey };
}
