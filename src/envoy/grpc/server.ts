// The server side of proxyless gRPC: for each inbound port, the Listener an xDS-enabled gRPC server watches
// (gRFC A36), `grpc/server?xds.resource.listening_address=<bind>:<port>`, with the socket_address gRPC compares
// byte for byte with the address it bound.
//
// A gRPC server cannot tell TLS from plaintext on one port: it has no tls_inspector, and a filter chain whose
// filter_chain_match names transport_protocol "tls" never matches (only "raw_buffer", the default, does). So a
// port gets exactly one filter chain, without a filter_chain_match, and the modes collapse to this table.
// PERMISSIVE becomes mTLS: trustplane's clients of a PERMISSIVE server already use mTLS (outbound.ts usesMtls),
// so that serves every generated client and keeps the port closed to callers without an identity; a plaintext
// client still on DISABLE cannot reach such a server (Istio makes the opposite choice, plaintext, for proxyless
// PERMISSIVE, which leaves the port open with no caller check at all).
import { create } from '@bufbuild/protobuf';
import { ListenerSchema, type Listener } from '#gen/envoy/config/listener/v3/listener_pb';
import { FilterChainSchema, type FilterChain } from '#gen/envoy/config/listener/v3/listener_components_pb';
import { HttpConnectionManagerSchema } from '#gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb';
import { TrafficDirection } from '#gen/envoy/config/core/v3/base_pb';
import type { InboundPort, Mode, Service } from '../../mesh/model.js';
import { HCM_FILTER } from '../app-filters.js';
import { socketAddress } from '../cluster.js';
import { typed } from '../typed.js';
import { grpcRbacFilter, grpcRouterFilter } from './filters.js';
import { serverListenerName, serverRouteName } from './names.js';
import { grpcDownstreamTls } from './tls.js';

export type GrpcServerChain = 'mtls' | 'plaintext';

/** mode → the one filter chain a gRPC server port gets (see above for PERMISSIVE). */
export const GRPC_SERVER_CHAIN: Readonly<Record<Mode, GrpcServerChain>> = Object.freeze({
  STRICT: 'mtls',
  PERMISSIVE: 'mtls',
  DISABLE: 'plaintext',
});

function filterChain(service: Service, port: InboundPort): FilterChain {
  const chain = GRPC_SERVER_CHAIN[port.mode];
  const routeName = serverRouteName(port);
  const hcm = typed(HttpConnectionManagerSchema, {
    statPrefix: `${routeName}_${chain}`,
    // Inline: a server's routes only say "serve it here" (non_forwarding_action); nothing to share by RDS.
    routeSpecifier: {
      case: 'routeConfig',
      value: {
        name: routeName,
        virtualHosts: [
          {
            name: routeName,
            domains: ['*'],
            routes: [{ match: { pathSpecifier: { case: 'prefix', value: '/' } }, action: { case: 'nonForwardingAction', value: {} } }],
          },
        ],
      },
    },
    // A plaintext caller has no identity to check, so RBAC sits only on the mTLS chain (as on sidecars).
    httpFilters: chain === 'mtls' ? [grpcRbacFilter(service.allowedCallers), grpcRouterFilter()] : [grpcRouterFilter()],
  });
  return create(FilterChainSchema, {
    name: chain,
    filters: [{ name: HCM_FILTER, configType: { case: 'typedConfig', value: hcm } }],
    ...(chain === 'mtls' ? { transportSocket: grpcDownstreamTls() } : {}),
  });
}

export function serverListener(service: Service, port: InboundPort, bindAddress: string): Listener {
  return create(ListenerSchema, {
    name: serverListenerName(bindAddress, port),
    address: socketAddress(bindAddress, port.port),
    trafficDirection: TrafficDirection.INBOUND,
    filterChains: [filterChain(service, port)],
  });
}
