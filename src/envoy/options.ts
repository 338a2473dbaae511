// Options of the resource builders. Every field has a documented default; the defaults produce the golden files.
import { publishLeadMs } from '../ca/rotation.js';
import { DEFAULT_ADMIN_ADDRESS } from '../control-plane/config.js';
import { DEFAULT_JWT_SVID_TTL_MS } from '../jwt/mint.js';
import { jwksMaxAgeSeconds } from '../oidc/discovery.js';
import type { JwksEndpoint } from './jwt-authn.js';
import { DEFAULT_SDS_POLICY, type SdsPolicy } from './sds.js';

export interface ResourceOptions {
  /** How SdsSecretConfigs are sourced and how long Envoy waits for them (see sds.ts). */
  readonly sds: SdsPolicy;
  /** Address inbound listeners bind (all interfaces: clients reach the proxy from other hosts). */
  readonly inboundBindAddress: string;
  /** Address outbound listeners bind (loopback: only the local application uses them). */
  readonly outboundBindAddress: string;
  /** connect_timeout of every generated cluster. */
  readonly connectTimeoutMs: number;
  /** Where ports with requireJwt fetch JWT authorities: trustplane's admin endpoint (see jwt-authn.ts). */
  readonly jwks: JwksEndpoint;
}

/** The admin endpoint `serve` listens on by default, and the JWKS cache time for the default JWT-SVID TTL. */
export function jwksEndpoint(adminAddress = DEFAULT_ADMIN_ADDRESS, tokenTtlMs = DEFAULT_JWT_SVID_TTL_MS): JwksEndpoint {
  const at = adminAddress.lastIndexOf(':');
  return { address: adminAddress.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(adminAddress.slice(at + 1)), cacheSeconds: jwksMaxAgeSeconds(publishLeadMs(tokenTtlMs)) };
}

export const DEFAULT_RESOURCE_OPTIONS: ResourceOptions = Object.freeze({
  sds: DEFAULT_SDS_POLICY,
  inboundBindAddress: '0.0.0.0',
  outboundBindAddress: '127.0.0.1',
  connectTimeoutMs: 5000,
  jwks: jwksEndpoint(),
});

/** Fills in defaults; returns the same object for the same input where it can (builders cache per options object). */
export function resourceOptions(partial: Partial<ResourceOptions> = {}): ResourceOptions {
  if (Object.keys(partial).length === 0) return DEFAULT_RESOURCE_OPTIONS;
  if (isComplete(partial)) return partial;
  return { ...DEFAULT_RESOURCE_OPTIONS, ...partial };
}

function isComplete(o: Partial<ResourceOptions>): o is ResourceOptions {
  return (Object.keys(DEFAULT_RESOURCE_OPTIONS) as (keyof ResourceOptions)[]).every((k) => o[k] !== undefined);
}
