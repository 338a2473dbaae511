// The JWT-SVID profile of the Workload API (§6) on trustplane's JWT-SVID code (src/jwt): FetchJWTSVID mints one
// token per identity the caller may hold (or the one it names), FetchJWTBundles streams every trust domain's JWT
// authorities as a JWK Set keyed spiffe://<td>, ValidateJWTSVID validates by the JWT-SVID spec's rules against the
// bundle of the token's own trust domain and returns its claims.
import * as grpc from '@grpc/grpc-js';
import { create, type JsonObject } from '@bufbuild/protobuf';
import {
  JWTBundlesResponseSchema,
  JWTSVIDResponseSchema,
  ValidateJWTSVIDResponseSchema,
  type JWTBundlesResponse,
  type JWTSVIDRequest,
  type JWTSVIDResponse,
  type ValidateJWTSVIDRequest,
  type ValidateJWTSVIDResponse,
} from '#gen/workload_pb';
import type { Clock } from '../clock.js';
import { JwtSvidError } from '../jwt/errors.js';
import { validateJwtSvid } from '../jwt/validate.js';
import type { X509Bundle } from '../spiffe/bundle.js';
import { SpiffeId } from '../spiffe/id.js';
import type { Status } from './service.js';
import type { IdentityStore } from '../store/identity-store.js';


/** A status an upstream Workload API answered with, passed on to the caller as it is. */
export class UpstreamStatusError extends Error {
  constructor(readonly status: Status) {
    super(status.details);
  }
}

/** Who signs JWT-SVIDs: the embedded CA's JWT keys (`ca.jwt`), or an upstream Workload API (it may throw UpstreamStatusError). */
export interface JwtSvidIssuer {
  mint(spiffeId: SpiffeId, audience: readonly string[]): Promise<{ readonly token: string }>;
}

export interface JwtProfile {
  readonly issuer: JwtSvidIssuer;
  readonly clock: Clock;
}

const invalid = (details: string): Status => ({ code: grpc.status.INVALID_ARGUMENT, details });

/** `granted` is what the caller may hold, default first (never empty: the caller was denied before). */
export async function fetchJwtSvids(profile: JwtProfile, granted: readonly string[], req: JWTSVIDRequest, caller: string): Promise<JWTSVIDResponse | Status> {
  if (req.audience.length === 0) return invalid('audience must be specified (JWTSVIDRequest.audience)');
  let ids = granted;
  if (req.spiffeId !== '') {
    if (!granted.includes(req.spiffeId)) return { code: grpc.status.PERMISSION_DENIED, details: `${caller} may not hold ${req.spiffeId}` };
    ids = [req.spiffeId];
  }
  try {
    const svids = [];
    for (const id of ids) svids.push({ spiffeId: id, svid: (await profile.issuer.mint(SpiffeId.parse(id), req.audience)).token });
    return create(JWTSVIDResponseSchema, { svids });
  } catch (err) {
    if (err instanceof JwtSvidError) return invalid(err.message);
    if (err instanceof UpstreamStatusError) return err.status;
    throw err;
  }
}

/**
 * A trust domain's JWT authorities as the plain RFC 7517 JWK Set §6.2.2 asks for: kty, the key's parameters and
 * kid, as SPIRE serves it. Not the SPIFFE bundle's `"use": "jwt-svid"`: generic JWT validators (§6.3's "legacy
 * validators", jose among them) skip a key whose use is anything but "sig".
 */
export function jwtBundleDocument(b: X509Bundle): string {
  return JSON.stringify({ keys: b.jwtAuthorities.map((a) => ({ ...a.publicKey, kid: a.keyId })) });
}

/** Every bundle's JWT authorities, the own trust domain's included; 'no-bundle' while the own one is missing. */
export function jwtBundlesResponse(store: IdentityStore): JWTBundlesResponse | 'no-bundle' {
  if (!store.getBundle(store.trustDomain)) return 'no-bundle';
  const bundles: Record<string, Buffer> = {};
  for (const b of store.bundles()) bundles[b.trustDomain.idString()] = Buffer.from(jwtBundleDocument(b), 'utf8');
  return create(JWTBundlesResponseSchema, { bundles });
}

export async function validateJwtSvidRequest(profile: JwtProfile, store: IdentityStore, req: ValidateJWTSVIDRequest): Promise<ValidateJWTSVIDResponse | Status> {
  if (req.audience === '') return invalid('audience must be specified (ValidateJWTSVIDRequest.audience)');
  if (req.svid === '') return invalid('svid must be specified (ValidateJWTSVIDRequest.svid)');
  try {
    const v = await validateJwtSvid(req.svid, { audience: req.audience, bundles: store, clock: profile.clock });
    return create(ValidateJWTSVIDResponseSchema, { spiffeId: v.spiffeId.toString(), claims: v.claims as JsonObject });
  } catch (err) {
    if (err instanceof JwtSvidError) return invalid(`${err.code}: ${err.message}`);
    throw err;
  }
}
