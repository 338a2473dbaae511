// The client side of proxyless gRPC, per dependency: the chain a channel to `xds:///<name>` walks (gRFC A27):
// Listener <name> (api_listener: an HttpConnectionManager whose routes come by RDS over ADS) → RouteConfiguration
// (one catch-all route to the cluster) → Cluster (EDS over ADS, with the TLS context) → ClusterLoadAssignment.
//
// gRPC resolves no host names inside EDS (it NACKs an endpoint that is not an IP), so a dependency reached by a
// host name gets a LOGICAL_DNS cluster instead, which gRPC allows with exactly one endpoint.
import { create } from '@bufbuild/protobuf';
import { isIP } from 'node:net';
import { ListenerSchema, type Listener } from '#gen/envoy/config/listener/v3/listener_pb';
import { ClusterSchema, Cluster_DiscoveryType, type Cluster } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from '#gen/envoy/config/endpoint/v3/endpoint_pb';
import type { RouteConfigurationSchema } from '#gen/envoy/config/route/v3/route_pb';
import { ApiVersion } from '#gen/envoy/config/core/v3/config_source_pb';
import { HttpConnectionManagerSchema } from '#gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb';
import type { Endpoint, Outbound, Service } from '../../mesh/model.js';
import { catchAllRoute } from '../app-filters.js';
import { socketAddress } from '../cluster.js';
import { EnvoyGenerateError } from '../errors.js';
import { usesMtls } from '../outbound.js';
import { typed, type Init } from '../typed.js';
import { grpcRouterFilter } from './filters.js';
import { clientClusterName, clientListenerName, clientRouteName } from './names.js';
import { grpcUpstreamTls } from './tls.js';

const ads = () => ({ configSourceSpecifier: { case: 'ads' as const, value: {} }, resourceApiVersion: ApiVersion.V3 });

export function clientListener(dep: Outbound): Listener {
  const name = clientListenerName(dep);
  return create(ListenerSchema, {
    name,
    apiListener: {
      apiListener: typed(HttpConnectionManagerSchema, {
        statPrefix: name,
        routeSpecifier: { case: 'rds', value: { configSource: ads(), routeConfigName: clientRouteName(dep) } },
        httpFilters: [grpcRouterFilter()],
      }),
    },
  });
}

// The route configuration belongs to this one listener, so every authority the channel uses is this dependency.
export function clientRoute(dep: Outbound): Init<typeof RouteConfigurationSchema> {
  return catchAllRoute(clientRouteName(dep), clientClusterName(dep));
}

function byIp(dep: Outbound): boolean {
  return dep.endpoints.every((e) => isIP(e.address) !== 0);
}

function endpointsOf(name: string, endpoints: readonly Endpoint[]): ClusterLoadAssignment {
  return create(ClusterLoadAssignmentSchema, {
    clusterName: name,
    endpoints: [
      {
        // gRPC requires a locality on every group and drops groups without a weight.
        locality: {},
        loadBalancingWeight: 1,
        lbEndpoints: endpoints.map((e) => ({ hostIdentifier: { case: 'endpoint' as const, value: { address: socketAddress(e.address, e.port) } } })),
      },
    ],
  });
}

export function clientCluster(service: Service, dep: Outbound): Cluster {
  const name = clientClusterName(dep);
  if (dep.endpoints.length === 0) {
    throw new EnvoyGenerateError('NO_ENDPOINTS', `${service.name} → ${dep.name} (${dep.path}): the dependency has no endpoints; give it an address or endpoints`);
  }
  let transportSocket;
  if (usesMtls(service, dep)) {
    if (dep.spiffeIds.length === 0) {
      throw new EnvoyGenerateError(
        'NO_SERVER_SPIFFE_ID',
        `${service.name} → ${dep.name} (${dep.path}): the server is ${dep.serverMode} but no SPIFFE ID is expected of it; list the IDs it may present, or set its mode to DISABLE`,
      );
    }
    transportSocket = grpcUpstreamTls(dep.spiffeIds);
  }
  const tls = transportSocket ? { transportSocket } : {};
  if (byIp(dep)) {
    return create(ClusterSchema, {
      name,
      clusterDiscoveryType: { case: 'type', value: Cluster_DiscoveryType.EDS },
      edsClusterConfig: { edsConfig: ads() },
      ...tls,
    });
  }
  if (dep.endpoints.length > 1) {
    throw new EnvoyGenerateError(
      'GRPC_DNS_ENDPOINTS',
      `${service.name} → ${dep.name} (${dep.path}): gRPC resolves a host name dependency through one LOGICAL_DNS endpoint, found ${dep.endpoints.length}; give one host name, or IP addresses`,
    );
  }
  return create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: 'type', value: Cluster_DiscoveryType.LOGICAL_DNS },
    loadAssignment: endpointsOf(name, dep.endpoints),
    ...tls,
  });
}

/** The dependency's ClusterLoadAssignment, served by EDS; undefined for a LOGICAL_DNS cluster (endpoints inline). */
export function clientEndpoints(dep: Outbound): ClusterLoadAssignment | undefined {
  return byIp(dep) && dep.endpoints.length > 0 ? endpointsOf(clientClusterName(dep), dep.endpoints) : undefined;
}
