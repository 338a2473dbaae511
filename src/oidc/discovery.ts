// OIDC discovery for JWT-SVIDs, as SPIRE's oidc-discovery-provider does it: a minimal OpenID Provider
// configuration (OpenID Connect Discovery 1.0 §3) whose jwks_uri serves the trust domain's JWT authorities, so a
// cloud token service or any OIDC relying party can verify JWT-SVIDs that carry this issuer as `iss`. Pure.
import { createHash } from 'node:crypto';
import { TrustplaneError } from '../errors.js';
import type { JwtAuthority } from '../spiffe/jwt-authority.js';

export const DISCOVERY_PATH = '/.well-known/openid-configuration';
export const KEYS_PATH = '/keys';
/** Relying parties re-read the JWKS at least this often, whatever the rotation schedule allows. */
export const MAX_JWKS_MAX_AGE_SECONDS = 300;
export const DISCOVERY_MAX_AGE_SECONDS = 3600;

/**
 * The issuer URL: https, a host, optionally a port and a path; no query, fragment or trailing slash (OpenID
 * Connect Discovery §3: `iss` must equal it exactly, and the configuration lives at issuer + DISCOVERY_PATH).
 */
export function parseIssuer(value: string, where = '--oidc-issuer'): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TrustplaneError('OIDC_ISSUER_INVALID', `${where} "${value}" is not a URL (e.g. https://oidc.example.org)`);
  }
  const problem =
    url.protocol !== 'https:' ? 'must use https (relying parties such as AWS, GCP and Azure fetch it over TLS)'
    : url.search || url.hash || value.includes('?') || value.includes('#') ? 'must have no query or fragment'
    : url.username || url.password ? 'must have no user information'
    : value.endsWith('/') ? 'must not end with "/" (iss is compared character by character)'
    : undefined;
  if (problem) throw new TrustplaneError('OIDC_ISSUER_INVALID', `${where} "${value}" ${problem}`);
  return url;
}

/** The issuer exactly as configured and as it appears in `iss` (URL.href would add a trailing slash). */
export function issuerString(issuer: URL): string {
  return issuer.pathname === '/' ? issuer.origin : `${issuer.origin}${issuer.pathname}`;
}

/** Where both documents are served: under the issuer's path, as a relying party derives them. */
export function servedPaths(issuer: URL): { discovery: string; keys: string } {
  const prefix = issuer.pathname === '/' ? '' : issuer.pathname;
  return { discovery: `${prefix}${DISCOVERY_PATH}`, keys: `${prefix}${KEYS_PATH}` };
}

export function discoveryDocument(issuer: URL): Record<string, unknown> {
  const iss = issuerString(issuer);
  return {
    issuer: iss,
    jwks_uri: `${iss}${KEYS_PATH}`,
    // Required members of the OP metadata; trustplane issues no ID tokens through a browser flow.
    authorization_endpoint: '',
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256', 'ES256', 'ES384'],
  };
}

/** The JWS algorithm a key verifies (for the JWK "alg" member relying parties such as AWS look at). */
export function algorithmOf(key: Readonly<Record<string, string>>): string | undefined {
  if (key['kty'] === 'RSA') return 'RS256';
  return { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[key['crv'] ?? ''];
}

/** The JWKS of the JWT authorities, in the OIDC form: use "sig", with kid and alg. */
export function jwksDocument(authorities: readonly JwtAuthority[]): { keys: Array<Record<string, string>> } {
  return {
    keys: authorities.map((a) => {
      const alg = algorithmOf(a.publicKey);
      return { ...a.publicKey, use: 'sig', kid: a.keyId, ...(alg ? { alg } : {}) };
    }),
  };
}

/**
 * How long a relying party may cache the JWKS: at most half the time a new key is published before it signs,
 * so that every cache holding the old set has expired and been refreshed before the first token of the new key.
 */
export function jwksMaxAgeSeconds(publishLeadMs: number): number {
  return Math.max(0, Math.min(MAX_JWKS_MAX_AGE_SECONDS, Math.floor(publishLeadMs / 2000)));
}

export function etagOf(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
}
