// The grpc target's resources: what an xDS-enabled gRPC process (client, server or both) of a service is served.
// Server listeners are named for each port's listenAddress (the description's; loopback by default): the
// application must pass exactly `<that address>:<port>` to XdsServer.bindAsync, because the listener's name and
// socket_address are derived from it. The generator's inboundBindAddress option is for Envoy proxies only.
import type { MeshModel, Service } from '../../mesh/model.js';
import type { ResourceOptions } from '../options.js';
import type { ClusterInit, EndpointInit, ListenerInit, ServiceResourceInits } from '../resources.js';
import { clientCluster, clientEndpoints, clientListener, clientRoute } from './client.js';
import { serverListener } from './server.js';

export function grpcResources(_mesh: MeshModel, service: Service, _opts: ResourceOptions): ServiceResourceInits {
  const listeners: ListenerInit[] = service.inbound.map((port) => serverListener(service, port, port.listenAddress));
  const clusters: ClusterInit[] = [];
  const endpoints: EndpointInit[] = [];
  for (const dep of service.outbound) {
    listeners.push(clientListener(dep));
    clusters.push(clientCluster(service, dep));
    const cla = clientEndpoints(dep);
    if (cla) endpoints.push(cla);
  }
  return { listeners, clusters, routes: service.outbound.map(clientRoute), endpoints };
}
