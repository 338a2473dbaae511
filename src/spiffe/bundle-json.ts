// The SPIFFE bundle format (SPIFFE Trust Domain and Bundle §4, X509-SVID §6, JWT-SVID §6): a JWK Set whose
// "x509-svid" entries each carry one CA certificate in x5c and that certificate's public key as JWK parameters,
// and whose "jwt-svid" entries are JWT signing keys, each with its "kid".
import { X509Certificate, type JsonWebKey } from 'node:crypto';
import { BundleError } from './bundle-error.js';
import { JWT_SVID_USE, jwtAuthorityJwk, parseJwtAuthority, type JwtAuthority } from './jwt-authority.js';

export const X509_SVID_USE = 'x509-svid';
/** Key types whose parameters we can compare with a certificate; others are ignored, as §4.2.1 requires. */
const KNOWN_KTY = new Set(['EC', 'RSA', 'OKP']);
/** The public parameters of each key type, in the order they are written. */
const KEY_PARAMS: Record<string, readonly string[]> = { EC: ['crv', 'x', 'y'], RSA: ['n', 'e'], OKP: ['crv', 'x'] };
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface ParsedBundleJson {
  authorities: X509Certificate[];
  jwtAuthorities: JwtAuthority[];
  sequence?: number;
  refreshHintSeconds?: number;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The JWK public parameters of a certificate's key, e.g. { kty: 'EC', crv, x, y }. */
export function certificateJwk(cert: X509Certificate, what: string): Record<string, string> {
  let jwk: JsonWebKey;
  try {
    jwk = cert.publicKey.export({ format: 'jwk' });
  } catch (cause) {
    const type = cert.publicKey.asymmetricKeyType ?? 'unknown';
    throw new BundleError('UNSUPPORTED_KEY', `${what}: the ${type} key of CA "${cert.subject}" has no JWK form`, { cause });
  }
  const kty = String(jwk.kty);
  const out: Record<string, string> = { kty };
  for (const p of KEY_PARAMS[kty] ?? []) out[p] = String(jwk[p]);
  return out;
}

export function parseBundleJson(json: string, what: string): ParsedBundleJson {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (cause) {
    // Only the position: V8's message quotes the input around it, which may be key material in the wrong file.
    const at = /position (\d+)/.exec((cause as Error).message)?.[1];
    throw new BundleError('NOT_JSON', `${what}: not a JSON document${at ? ` (syntax error at character ${at})` : ''}`);
  }
  if (!isObject(doc)) throw new BundleError('NOT_AN_OBJECT', `${what}: expected a JSON object (a JWK Set), got ${describe(doc)}`);
  const out: ParsedBundleJson = { authorities: [], jwtAuthorities: [] };
  const seq = doc['spiffe_sequence'];
  if (seq !== undefined) {
    if (!Number.isSafeInteger(seq) || (seq as number) < 0) {
      throw new BundleError('BAD_SEQUENCE', `${what}: "spiffe_sequence" must be an integer from 0 to 2^53-1, got ${describe(seq)}`);
    }
    out.sequence = seq as number;
  }
  const hint = doc['spiffe_refresh_hint'];
  if (hint !== undefined) {
    if (!Number.isSafeInteger(hint) || (hint as number) < 0) {
      throw new BundleError('BAD_REFRESH_HINT', `${what}: "spiffe_refresh_hint" must be a whole number of seconds >= 0, got ${describe(hint)}`);
    }
    out.refreshHintSeconds = hint as number;
  }
  const keys = doc['keys'];
  if (keys === undefined) throw new BundleError('MISSING_KEYS', `${what}: the "keys" member is missing (it is required, even if empty)`);
  if (!Array.isArray(keys)) throw new BundleError('KEYS_NOT_ARRAY', `${what}: "keys" must be an array of JWKs, got ${describe(keys)}`);
  keys.forEach((key, i) => {
    const parsed = parseKey(key, i, what);
    if (parsed instanceof X509Certificate) out.authorities.push(parsed);
    else if (parsed) {
      if (out.jwtAuthorities.some((a) => a.keyId === parsed.keyId)) {
        throw new BundleError('DUPLICATE_KID', `${what}: key ${i}: "kid" "${parsed.keyId}" is used by an earlier "${JWT_SVID_USE}" key`, { keyIndex: i });
      }
      out.jwtAuthorities.push(parsed);
    }
  });
  return out;
}

/** One entry of "keys": its CA certificate or JWT authority, or undefined when the entry is for another use or key type. */
function parseKey(key: unknown, i: number, what: string): X509Certificate | JwtAuthority | undefined {
  const at = `${what}: key ${i}`;
  const fail = (code: ConstructorParameters<typeof BundleError>[0], msg: string, cause?: unknown): BundleError =>
    new BundleError(code, `${at}: ${msg}`, { keyIndex: i, cause });
  if (!isObject(key)) throw fail('BAD_KEY', `expected a JWK object, got ${describe(key)}`);
  const use = key['use'];
  // RFC 7517 §4.2 makes "use" a string: another JSON type is a malformed JWK (go-spiffe's JSON decoding refuses it
  // too), where a missing or unknown value is not.
  if (use !== undefined && use !== null && typeof use !== 'string') throw fail('BAD_USE', `"use" must be a string, got ${describe(use)}`);
  // §4.2.2: a consumer MUST ignore the entire element when "use" is missing or unknown (values are case-sensitive),
  // whatever else it holds; go-spiffe's parser skips such keys too. "wit-svid" is among them: trustplane has no
  // WIT-SVID profile.
  if (use !== X509_SVID_USE && use !== JWT_SVID_USE) return undefined;
  const kty = key['kty'];
  if (typeof kty !== 'string' || kty === '') throw fail('MISSING_KTY', `"kty" must be set (a non-empty string), got ${describe(kty)}`);
  if (use === JWT_SVID_USE) return parseJwtAuthority(key, at, i);
  // §4.2.1: unknown key types are skipped, not errors.
  if (!KNOWN_KTY.has(kty)) return undefined;
  const x5c = key['x5c'];
  if (x5c === undefined) throw fail('MISSING_X5C', `an "${X509_SVID_USE}" key must carry its CA certificate in "x5c"`);
  if (!Array.isArray(x5c) || x5c.length !== 1) {
    const got = Array.isArray(x5c) ? `${x5c.length} certificates` : describe(x5c);
    throw fail('X5C_NOT_ONE_CERT', `"x5c" must hold exactly one certificate, got ${got}`);
  }
  const b64: unknown = x5c[0];
  if (typeof b64 !== 'string' || b64 === '' || !STRICT_BASE64.test(b64)) {
    throw fail('BAD_X5C', `"x5c"[0] must be a standard base64 (not base64url) DER certificate`);
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(b64, 'base64'));
  } catch (cause) {
    throw fail('BAD_X5C', `"x5c"[0] is not a DER X.509 certificate`, cause);
  }
  const expected = certificateJwk(cert, at);
  if (expected.kty !== kty) {
    throw fail('KEY_MISMATCH', `"kty" is "${kty}" but the certificate's public key is "${expected.kty}"`);
  }
  for (const p of KEY_PARAMS[kty] ?? []) {
    if (!sameParam(p, key[p], expected[p] ?? '')) {
      throw fail('KEY_MISMATCH', `"${p}" does not match the public key of the certificate in "x5c" ("${cert.subject}")`);
    }
  }
  return cert;
}

function sameParam(name: string, got: unknown, want: string): boolean {
  if (typeof got !== 'string') return false;
  if (name === 'crv') return got === want;
  // Compare the decoded integers, so that an encoder's extra leading zero octets are not a mismatch.
  const strip = (b: Buffer): Buffer => b.subarray(Math.max(0, b.findIndex((x) => x !== 0)));
  if (!/^[A-Za-z0-9_-]+$/.test(got)) return false;
  return strip(Buffer.from(got, 'base64url')).equals(strip(Buffer.from(want, 'base64url')));
}

export function bundleJson(
  authorities: readonly X509Certificate[],
  sequence: number | undefined,
  refreshHintSeconds: number | undefined,
  what: string,
  jwtAuthorities: readonly JwtAuthority[] = [],
): string {
  const doc: Obj = {
    keys: [
      ...authorities.map((cert) => ({ ...certificateJwk(cert, what), use: X509_SVID_USE, x5c: [cert.raw.toString('base64')] })),
      ...jwtAuthorities.map(jwtAuthorityJwk),
    ],
  };
  if (sequence !== undefined) doc['spiffe_sequence'] = sequence;
  if (refreshHintSeconds !== undefined) doc['spiffe_refresh_hint'] = refreshHintSeconds;
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`;
  if (typeof v === 'number') return String(v);
  return `a ${typeof v}`;
}
