// Who may call a service over mTLS, as Envoy's network RBAC filter.
//
// Network RBAC rather than HTTP RBAC: the rule is about the peer's identity, which is known once the handshake
// is done, so one filter at the top of every mTLS chain serves http, grpc and tcp ports alike; a denied caller is
// refused before any byte reaches the application and is counted under <stat_prefix>rbac.denied. (HTTP RBAC
// would only add per-request rules, which the mesh description does not have.)
//
// authenticated.principal_name is matched against the peer certificate's URI SAN (Envoy uses the URI SAN first),
// i.e. the caller's SPIFFE ID: exact for named callers, prefix `spiffe://<td>/` for every member of a trust
// domain (the trailing slash keeps `spiffe://example.org.evil/...` out) — except the IDs under
// `spiffe://<td>/trustplane/`: those are control-plane infrastructure (the xDS server, node SVIDs that proxies
// authenticate with), never workloads, so a node's credential cannot pass as a member of its trust domain.
import { RBAC_Action, type PolicySchema, type PrincipalSchema } from '#gen/envoy/config/rbac/v3/rbac_pb';
import { RBACSchema as NetworkRbacSchema } from '#gen/envoy/extensions/filters/network/rbac/v3/rbac_pb';
import type { FilterSchema } from '#gen/envoy/config/listener/v3/listener_components_pb';
import type { AllowedCallers } from '../mesh/model.js';
import { typed, type Init } from './typed.js';

type Principal = Init<typeof PrincipalSchema>;

export const NETWORK_RBAC_FILTER = 'envoy.filters.network.rbac';
export const ALLOWED_CALLERS_POLICY = 'allowed-callers';

function principalName(matchPattern: { case: 'exact' | 'prefix'; value: string }): Principal {
  return { identifier: { case: 'authenticated', value: { principalName: { matchPattern } } } };
}

/** The part of a trust domain's ID space that is trustplane's own, for a member prefix `spiffe://<td>/`. */
export function infrastructurePrefix(memberPrefix: string): string {
  return `${memberPrefix}trustplane/`;
}

/** Every member of the trust domain but its trustplane infrastructure IDs. */
function memberPrincipal(prefix: string): Principal {
  return {
    identifier: {
      case: 'andIds',
      value: {
        ids: [
          principalName({ case: 'prefix', value: prefix }),
          { identifier: { case: 'notId', value: principalName({ case: 'prefix', value: infrastructurePrefix(prefix) }) } },
        ],
      },
    },
  };
}

/** Exact IDs first, then trust-domain prefixes; each sorted so a reordered description changes no byte. */
export function callerPatterns(callers: AllowedCallers): { readonly exact: readonly string[]; readonly prefix: readonly string[] } {
  return {
    exact: [...new Set(callers.spiffeIds.map(String))].sort(),
    prefix: [...new Set(callers.trustDomains.map((td) => `${td.idString()}/`))].sort(),
  };
}

export function callerPrincipals(callers: AllowedCallers): Principal[] {
  const { exact, prefix } = callerPatterns(callers);
  return [
    ...exact.map((value) => principalName({ case: 'exact', value })),
    ...prefix.map(memberPrincipal),
  ];
}

/** ALLOW with exactly the allowed callers; an empty list yields ALLOW with no policy, which denies everyone. */
export function rbacFilter(callers: AllowedCallers, statPrefix: string): Init<typeof FilterSchema> {
  const principals = callerPrincipals(callers);
  const policies: Record<string, Init<typeof PolicySchema>> = {};
  if (principals.length) policies[ALLOWED_CALLERS_POLICY] = { permissions: [{ rule: { case: 'any', value: true } }], principals };
  return {
    name: NETWORK_RBAC_FILTER,
    configType: {
      case: 'typedConfig',
      value: typed(NetworkRbacSchema, { statPrefix, rules: { action: RBAC_Action.ALLOW, policies } }),
    },
  };
}
