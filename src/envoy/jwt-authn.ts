// JWT-SVID checks on an inbound HTTP port (`requireJwt` in the description): Envoy's jwt_authn verifies the
// bearer token, an HTTP RBAC filter admits exactly the allowed callers by the token's `sub`, and the verified
// `sub` reaches the application in the x-spiffe-id header. mTLS and its network RBAC are untouched: on an mTLS
// chain both checks apply.
//
// One jwt_authn provider per trust domain the callers come from, each with only that domain's keys, and the
// RBAC rules read `sub` from the payload of the provider of the caller's own domain: a token signed with another
// domain's key (a kid of another domain) fails that domain's provider, and a `sub` of domain A verified by B's
// provider never matches a rule for A (JWT-SVID: a token is verified with the bundle of its own trust domain).
//
// The keys come from trustplane as a remote JWKS (<admin>/jwt/keys/<trust domain>) over a cluster of its own,
// not inline: the listener's bytes then never depend on key material, so a key rotation changes no listener (no
// push, no drained connections) and the output is byte-stable for the golden files. Envoy refreshes the JWKS
// every cacheSeconds, which is at most half the time a new key is published before it signs (jwksMaxAgeSeconds),
// and fetches it before the listener takes traffic (async_fetch). The proxy reaches the admin address, which is
// loopback by default: sidecars on trustplane's host. Envoy does not refetch on an unknown kid, which is why
// the publish lead matters.
import type { ClusterSchema } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { HeaderValueOption_HeaderAppendAction } from '#gen/envoy/config/core/v3/base_pb';
import { RBAC_Action, type PolicySchema, type PrincipalSchema } from '#gen/envoy/config/rbac/v3/rbac_pb';
import type { RouteConfigurationSchema } from '#gen/envoy/config/route/v3/route_pb';
import { JwtAuthenticationSchema, type JwtProviderSchema, type JwtRequirementSchema } from '#gen/envoy/extensions/filters/http/jwt_authn/v3/config_pb';
import { RBACSchema as HttpRbacSchema } from '#gen/envoy/extensions/filters/http/rbac/v3/rbac_pb';
import type { HttpFilterSchema } from '#gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb';
import type { InboundPort, MeshModel, Service } from '../mesh/model.js';
import { SpiffeId } from '../spiffe/id.js';
import { endpointCluster } from './cluster.js';
import type { ResourceOptions } from './options.js';
import { callerPatterns, infrastructurePrefix } from './rbac.js';
import { durationMs, typed, type Init } from './typed.js';

export const JWT_AUTHN_FILTER = 'envoy.filters.http.jwt_authn';
export const HTTP_RBAC_FILTER = 'envoy.filters.http.rbac';
/** The cluster proxies fetch JWT authorities over. */
export const JWKS_CLUSTER = 'trustplane_jwks';
/** The verified `sub` (the caller's SPIFFE ID) as the application receives it; any value a client sent is removed. */
export const SPIFFE_ID_HEADER = 'x-spiffe-id';
export const JWT_CALLERS_POLICY = 'jwt-callers';
const JWKS_FETCH_TIMEOUT_MS = 5000;

/** Where trustplane serves a trust domain's JWT authorities as a JWKS (the admin endpoint; src/oidc/jwks-handler.ts). */
export function jwksPath(trustDomain: string): string {
  return `/jwt/keys/${trustDomain}`;
}

/** The JWKS endpoint the generated configuration fetches from (ResourceOptions.jwks). */
export interface JwksEndpoint {
  readonly address: string;
  readonly port: number;
  /** remote_jwks cache_duration: at most half the publish lead of a new key (see jwksMaxAgeSeconds). */
  readonly cacheSeconds: number;
}

/** What an HTTP connection manager of a requireJwt port adds: filters before the router, and route headers. */
export interface JwtHttpParts {
  readonly httpFilters: readonly Init<typeof HttpFilterSchema>[];
  readonly route: Pick<Init<typeof RouteConfigurationSchema>, 'requestHeadersToRemove' | 'requestHeadersToAdd'>;
}

/** Trust domains whose tokens a port accepts: those of its allowed callers (the own one when there are none), sorted. */
export function jwtTrustDomains(mesh: MeshModel, service: Service): string[] {
  const { exact, prefix } = callerPatterns(service.allowedCallers);
  const tds = [...exact.map((id) => SpiffeId.parse(id).trustDomain.name), ...prefix.map((p) => p.slice('spiffe://'.length, -1))];
  return [...new Set(tds.length ? tds : [mesh.trustDomain.name])].sort();
}

function provider(td: string, audiences: readonly string[], opts: ResourceOptions): Init<typeof JwtProviderSchema> {
  const jwks = opts.jwks;
  return {
    audiences: [...audiences],
    requireExpiration: true,
    jwksSourceSpecifier: {
      case: 'remoteJwks',
      value: {
        httpUri: { uri: `http://${jwks.address}:${jwks.port}${jwksPath(td)}`, httpUpstreamType: { case: 'cluster', value: JWKS_CLUSTER }, timeout: durationMs(JWKS_FETCH_TIMEOUT_MS) },
        cacheDuration: durationMs(jwks.cacheSeconds * 1000),
        asyncFetch: {},
      },
    },
    // The payload lands under the provider's own key, so RBAC can insist on the caller's domain's provider.
    payloadInMetadata: td,
  };
}

function requirement(tds: readonly string[]): Init<typeof JwtRequirementSchema> {
  if (tds.length === 1) return { requiresType: { case: 'providerName', value: tds[0]! } };
  return { requiresType: { case: 'requiresAny', value: { requirements: tds.map((td) => ({ requiresType: { case: 'providerName' as const, value: td } })) } } };
}

/** `sub` of the payload the provider of `td` verified, matched exactly or by prefix. */
function subPrincipal(td: string, match: { case: 'exact' | 'prefix'; value: string }): Init<typeof PrincipalSchema> {
  return {
    identifier: {
      case: 'metadata',
      value: { filter: JWT_AUTHN_FILTER, path: [{ segment: { case: 'key', value: td } }, { segment: { case: 'key', value: 'sub' } }], value: { matchPattern: { case: 'stringMatch', value: { matchPattern: match } } } },
    },
  };
}

/** Exactly the allowed callers of the mesh description (rbac.ts's patterns), by the verified token's `sub`. */
export function jwtCallerPrincipals(service: Service): Init<typeof PrincipalSchema>[] {
  const { exact, prefix } = callerPatterns(service.allowedCallers);
  return [
    ...exact.map((id) => subPrincipal(SpiffeId.parse(id).trustDomain.name, { case: 'exact', value: id })),
    ...prefix.map((p) => {
      const td = p.slice('spiffe://'.length, -1);
      return {
        identifier: {
          case: 'andIds' as const,
          value: { ids: [subPrincipal(td, { case: 'prefix', value: p }), { identifier: { case: 'notId' as const, value: subPrincipal(td, { case: 'prefix', value: infrastructurePrefix(p) }) } }] },
        },
      };
    }),
  ];
}

export function jwtHttpParts(mesh: MeshModel, service: Service, port: InboundPort, statPrefix: string, opts: ResourceOptions): JwtHttpParts {
  const audiences = port.requireJwt?.audiences ?? [];
  const tds = jwtTrustDomains(mesh, service);
  const providers: Record<string, Init<typeof JwtProviderSchema>> = {};
  for (const td of tds) providers[td] = provider(td, audiences, opts);
  const principals = jwtCallerPrincipals(service);
  // No caller at all: ALLOW with no policy, which denies every request (as the network RBAC does).
  const policies: Record<string, Init<typeof PolicySchema>> = {};
  if (principals.length) policies[JWT_CALLERS_POLICY] = { permissions: [{ rule: { case: 'any', value: true } }], principals };
  return {
    httpFilters: [
      { name: JWT_AUTHN_FILTER, configType: { case: 'typedConfig', value: typed(JwtAuthenticationSchema, { providers, rules: [{ match: { pathSpecifier: { case: 'prefix', value: '/' } }, requirementType: { case: 'requires', value: requirement(tds) } }] }) } },
      { name: HTTP_RBAC_FILTER, configType: { case: 'typedConfig', value: typed(HttpRbacSchema, { rules: { action: RBAC_Action.ALLOW, policies }, rulesStatPrefix: statPrefix }) } },
    ],
    route: {
      // A client's own x-spiffe-id goes first; then the `sub` of whichever provider verified the token (jwt_authn
      // itself only appends headers, so it cannot be trusted to replace one).
      requestHeadersToRemove: [SPIFFE_ID_HEADER],
      requestHeadersToAdd: tds.map((td) => ({
        header: { key: SPIFFE_ID_HEADER, value: `%DYNAMIC_METADATA(${JWT_AUTHN_FILTER}:${td}:sub)%` },
        appendAction: HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
      })),
    },
  };
}

/** The cluster the JWKS is fetched over: trustplane's admin endpoint, plain HTTP/1.1 (loopback by default). */
export function jwksCluster(opts: ResourceOptions): Init<typeof ClusterSchema> {
  return endpointCluster({ name: JWKS_CLUSTER, endpoints: [{ address: opts.jwks.address, port: opts.jwks.port }], http2: false, connectTimeoutMs: opts.connectTimeoutMs });
}
