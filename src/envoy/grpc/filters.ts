// HTTP filters of proxyless gRPC. gRPC requires the router to be the last filter (and only the last), on clients
// and servers alike; on servers it only marks the end of the chain (routes there are non_forwarding_action).
//
// Who may call a server is the HTTP RBAC filter (gRFC A41), fed the same principals as the sidecar's network
// RBAC (exact SPIFFE IDs, trust-domain prefixes): grpc-js matches authenticated.principal_name against the URI
// SANs of the verified peer certificate. It is deliberately NOT marked is_optional: a gRPC that does not support
// RBAC (grpc-js without GRPC_XDS_EXPERIMENTAL_RBAC=true) then NACKs the listener and does not serve, instead of
// ignoring the filter and admitting every caller.
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { HttpFilterSchema, type HttpFilter } from '#gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb';
import { RouterSchema } from '#gen/envoy/extensions/filters/http/router/v3/router_pb';
import { RBACSchema as HttpRbacSchema } from '#gen/envoy/extensions/filters/http/rbac/v3/rbac_pb';
import { RBAC_Action, type PolicySchema } from '#gen/envoy/config/rbac/v3/rbac_pb';
import type { AllowedCallers } from '../../mesh/model.js';
import { ROUTER_FILTER } from '../app-filters.js';
import { once } from '../memo.js';
import { ALLOWED_CALLERS_POLICY, callerPrincipals } from '../rbac.js';
import { typed } from '../typed.js';

export const HTTP_RBAC_FILTER = 'envoy.filters.http.rbac';

export const grpcRouterFilter = once(() => create(HttpFilterSchema, { name: ROUTER_FILTER, configType: { case: 'typedConfig', value: typed(RouterSchema, {}) } }));

/** ALLOW exactly the allowed callers, any method; an empty list is ALLOW with no policy, which denies everyone. */
export function grpcRbacFilter(callers: AllowedCallers): HttpFilter {
  const principals = callerPrincipals(callers);
  const policies: Record<string, MessageInitShape<typeof PolicySchema>> = {};
  if (principals.length) policies[ALLOWED_CALLERS_POLICY] = { permissions: [{ rule: { case: 'any', value: true } }], principals };
  return create(HttpFilterSchema, {
    name: HTTP_RBAC_FILTER,
    configType: { case: 'typedConfig', value: typed(HttpRbacSchema, { rules: { action: RBAC_Action.ALLOW, policies } }) },
  });
}
