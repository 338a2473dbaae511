// Validating a JWT-SVID (JWT-SVID §2-§4, Appendix A) with jose doing the JWS and claim-set work. The checks jose
// leaves to the caller come first, each refusing with its own reason: the algorithm (before any key is used, so
// `none` and HMAC with a public key as secret never reach a verifier), the headers, the `sub`, the bundle of
// the `sub`'s trust domain and the key its `kid` names there. Then jose verifies the signature and exp/nbf/aud.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { X509Bundle } from '../spiffe/bundle.js';
import { SpiffeId } from '../spiffe/id.js';
import type { JwtAuthority } from '../spiffe/jwt-authority.js';
import type { TrustDomain } from '../spiffe/trust-domain.js';
import { algorithmFitsKey, isJwtSvidAlgorithm, JWT_SVID_ALGORITHMS } from './algorithms.js';
import { JwtSvidError } from './errors.js';

/** JWT-SVID §2: the only headers a JWT-SVID may carry. */
const ALLOWED_HEADERS = new Set(['alg', 'kid', 'typ']);
export const DEFAULT_LEEWAY_MS = 30_000;
export const MAX_TOKEN_BYTES = 8192;

/** Where the validator finds a trust domain's JWT authorities (an IdentityStore or BundleSet fits). */
export interface JwtBundleSource {
  getBundle(trustDomain: string): X509Bundle | undefined;
  /** Every bundle held; lets a refusal say that a `kid` belongs to another trust domain. */
  bundles?(): Iterable<X509Bundle>;
}

export interface JwtSvidValidationOptions {
  /** The audience(s) this validator identifies with; the token must name at least one of them. */
  readonly audience: string | readonly string[];
  readonly bundles: JwtBundleSource;
  /** Accept only SPIFFE IDs of this trust domain (otherwise: of any trust domain there is a bundle for). */
  readonly trustDomain?: TrustDomain;
  readonly clock?: Clock;
  /** Allowed clock skew for exp, nbf and iat; default 30 s. */
  readonly leewayMs?: number;
}

export interface ValidatedJwtSvid {
  readonly spiffeId: SpiffeId;
  readonly audience: readonly string[];
  readonly keyId: string;
  readonly expiresAt: Date;
  readonly issuedAt?: Date;
  /** Every claim of the token, as the Workload API's ValidateJWTSVID returns them. */
  readonly claims: Readonly<JWTPayload>;
}

const keys = new WeakMap<JwtAuthority, KeyObject>();
function keyOf(a: JwtAuthority): KeyObject {
  let k = keys.get(a);
  if (!k) keys.set(a, (k = createPublicKey({ key: a.publicKey as never, format: 'jwk' })));
  return k;
}

const refuse = (code: ConstructorParameters<typeof JwtSvidError>[0], msg: string): JwtSvidError => new JwtSvidError(code, msg);

export async function validateJwtSvid(token: string, opts: JwtSvidValidationOptions): Promise<ValidatedJwtSvid> {
  const audience = typeof opts.audience === 'string' ? [opts.audience] : [...opts.audience];
  if (audience.length === 0 || audience.some((a) => typeof a !== 'string' || a === '')) {
    throw new TypeError('validateJwtSvid: the validator must name at least one non-empty audience it identifies with');
  }
  if (typeof token !== 'string' || token.length > MAX_TOKEN_BYTES) {
    throw refuse('JWT_TOO_LARGE', `the token is longer than ${MAX_TOKEN_BYTES} bytes`);
  }
  // JWT-SVID §5.1: JWS Compact Serialization only (three base64url parts).
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
    throw refuse('JWT_MALFORMED', 'not a JWS in compact serialization (header.payload.signature, base64url)');
  }
  let header: Record<string, unknown>;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
    payload = decodeJwt(token);
  } catch {
    throw refuse('JWT_MALFORMED', 'the header or the claims set is not a base64url-encoded JSON object');
  }

  const alg = header['alg'];
  if (!isJwtSvidAlgorithm(alg)) {
    throw refuse('JWT_ALG_NOT_ALLOWED', `alg ${JSON.stringify(String(alg)).slice(0, 40)} is not allowed; a JWT-SVID is signed with one of ${JWT_SVID_ALGORITHMS.join(', ')}`);
  }
  const extra = Object.keys(header).filter((h) => !ALLOWED_HEADERS.has(h));
  if (extra.length) throw refuse('JWT_HEADER_NOT_ALLOWED', `header ${extra.map((h) => JSON.stringify(h).slice(0, 40)).join(', ')} is not allowed in a JWT-SVID (only alg, kid, typ)`);
  if (header['typ'] !== undefined && header['typ'] !== 'JWT' && header['typ'] !== 'JOSE') {
    throw refuse('JWT_HEADER_NOT_ALLOWED', 'typ must be JWT or JOSE when present');
  }
  const kid = header['kid'];
  if (typeof kid !== 'string' || kid === '') throw refuse('JWT_KID_MISSING', 'the header has no kid, so no key of the bundle can be chosen');

  const spiffeId = subjectOf(payload);
  const td = spiffeId.trustDomain;
  if (opts.trustDomain && !td.equals(opts.trustDomain)) {
    throw refuse('JWT_TRUST_DOMAIN_UNTRUSTED', `sub ${spiffeId} is in trust domain ${td.name}; only ${opts.trustDomain.name} is accepted`);
  }
  const bundle = opts.bundles.getBundle(td.name);
  if (!bundle) throw refuse('JWT_TRUST_DOMAIN_UNTRUSTED', `sub ${spiffeId} is in trust domain ${td.name}, for which there is no bundle`);
  const authority = bundle.findJwtAuthority(kid);
  if (!authority) {
    const owner = [...(opts.bundles.bundles?.() ?? [])].find((b) => !b.trustDomain.equals(td) && b.findJwtAuthority(kid));
    if (owner) throw refuse('JWT_KID_OTHER_DOMAIN', `kid ${JSON.stringify(kid)} is a key of trust domain ${owner.trustDomain.name}, not of ${td.name} (sub ${spiffeId})`);
    throw refuse('JWT_KID_UNKNOWN', `kid ${JSON.stringify(kid.slice(0, 64))} is not a JWT authority of trust domain ${td.name}`);
  }
  if (!algorithmFitsKey(alg, authority.publicKey)) {
    throw refuse('JWT_ALG_KEY_MISMATCH', `alg ${alg} does not fit key ${kid} (${authority.publicKey['kty']}${authority.publicKey['crv'] ? ` ${authority.publicKey['crv']}` : ''})`);
  }

  const now = (opts.clock ?? systemClock).now();
  const leeway = Math.floor((opts.leewayMs ?? DEFAULT_LEEWAY_MS) / 1000);
  try {
    await jwtVerify(token, keyOf(authority), {
      algorithms: [alg],
      audience,
      requiredClaims: ['exp'],
      currentDate: new Date(now),
      clockTolerance: leeway,
    });
  } catch (err) {
    throw claimError(err, audience);
  }
  // jose checks iat only together with a maximum age; a token issued in the future is not valid yet.
  if (typeof payload.iat === 'number' && payload.iat > now / 1000 + leeway) {
    throw refuse('JWT_NOT_YET_VALID', `issued at ${isoSeconds(payload.iat)}, in the future (now ${new Date(now).toISOString()})`);
  }
  const aud = typeof payload.aud === 'string' ? [payload.aud] : [...(payload.aud ?? [])];
  return {
    spiffeId,
    audience: aud,
    keyId: kid,
    expiresAt: new Date(payload.exp! * 1000),
    ...(typeof payload.iat === 'number' ? { issuedAt: new Date(payload.iat * 1000) } : {}),
    claims: payload,
  };
}

function subjectOf(payload: JWTPayload): SpiffeId {
  if (typeof payload.sub !== 'string') throw refuse('JWT_SUB_INVALID', 'the token has no sub (it must be the SPIFFE ID of the workload)');
  try {
    return SpiffeId.parse(payload.sub);
  } catch (err) {
    throw refuse('JWT_SUB_INVALID', `sub is not a SPIFFE ID: ${(err as Error).message}`);
  }
}

function claimError(err: unknown, audience: readonly string[]): JwtSvidError {
  if (err instanceof errors.JWSSignatureVerificationFailed) return refuse('JWT_SIGNATURE_INVALID', 'the signature does not verify with the key its kid names (tampered or signed by another key)');
  if (err instanceof errors.JWTExpired) return refuse('JWT_EXPIRED', `expired at ${isoSeconds(err.payload.exp)}`);
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing' && err.claim === 'aud') return refuse('JWT_AUD_MISSING', 'the token has no aud (JWT-SVID §3.2 requires one)');
    if (err.reason === 'missing' && err.claim === 'exp') return refuse('JWT_EXP_MISSING', 'the token has no exp (JWT-SVID §3.3 requires one)');
    // JWT-SVID schema: aud is a string or a list of at least one.
    if (err.claim === 'aud' && Array.isArray(err.payload.aud) && err.payload.aud.length === 0) return refuse('JWT_AUD_MISSING', 'the token\'s aud is an empty list (JWT-SVID §3.2 requires at least one value)');
    if (err.claim === 'aud' && err.reason === 'check_failed') return refuse('JWT_AUD_MISMATCH', `the token's audience does not include ${audience.map((a) => JSON.stringify(a)).join(' or ')}`);
    if (err.claim === 'nbf' && err.reason === 'check_failed') return refuse('JWT_NOT_YET_VALID', `not valid before ${isoSeconds(err.payload.nbf)}`);
    return refuse('JWT_CLAIM_INVALID', `claim ${err.claim}: ${err.message}`);
  }
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid) return refuse('JWT_MALFORMED', err.message);
  if (err instanceof errors.JOSEError) return refuse('JWT_MALFORMED', err.message);
  throw err;
}

function isoSeconds(s: unknown): string {
  return typeof s === 'number' && Number.isFinite(s) ? new Date(s * 1000).toISOString() : String(s);
}
