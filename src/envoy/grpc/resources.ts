// The grpc target's resources: what an xDS-enabled gRPC process (client, server or both) of a service is served.
// Server listeners bind opts.inboundBindAddress: the application must pass exactly `<that address>:<port>` to
// XdsServer.bindAsync, because the listener's name and socket_address are derived from it.
import type { Cluster } from '#gen/envoy/config/cluster/v3/cluster_pb';
import type { ClusterLoadAssignment } from '#gen/envoy/config/endpoint/v3/endpoint_pb';
import type { Listener } from '#gen/envoy/config/listener/v3/listener_pb';
import type { MeshModel, Service } from '../../mesh/model.js';
import type { ResourceOptions } from '../options.js';
import type { ServiceResources } from '../resources.js';
import { clientCluster, clientEndpoints, clientListener, clientRoute } from './client.js';
import { serverListener } from './server.js';

export function grpcResources(_mesh: MeshModel, service: Service, opts: ResourceOptions): ServiceResources {
  const listeners: Listener[] = service.inbound.map((port) => serverListener(service, port, opts.inboundBindAddress));
  const clusters: Cluster[] = [];
  const endpoints: ClusterLoadAssignment[] = [];
  for (const dep of service.outbound) {
    listeners.push(clientListener(dep));
    clusters.push(clientCluster(service, dep));
    const cla = clientEndpoints(dep);
    if (cla) endpoints.push(cla);
  }
  return { listeners, clusters, routes: service.outbound.map(clientRoute), endpoints };
}
