// The gateway target: external TLS listeners routing to the gateway's dependencies (listener.ts), which it calls
// over mesh mTLS with its own SVID and exact SAN checks per dependency (the sidecar's outbound clusters, with
// Istio's SNI/ALPN for Istio services). A gateway may also have mesh inbound ports, built as a sidecar's.
import type { MeshModel, Service } from '../../mesh/model.js';
import { inboundListener, localCluster } from '../inbound.js';
import type { ResourceOptions } from '../options.js';
import { outboundListener } from '../outbound.js';
import type { ClusterInit, EndpointInit, ListenerInit, ServiceResourceInits } from '../resources.js';
import { upstreamCluster } from '../vm/upstream.js';
import { gatewayListeners } from './listener.js';

export function gatewayResources(mesh: MeshModel, service: Service, opts: ResourceOptions): ServiceResourceInits {
  const listeners: ListenerInit[] = [...gatewayListeners(service, opts), ...service.inbound.map((port) => inboundListener(mesh, service, port, opts))];
  const clusters: ClusterInit[] = service.inbound.map((port) => localCluster(mesh, port, opts));
  for (const dep of service.outbound) {
    clusters.push(upstreamCluster(service, dep, opts));
    if (dep.listenPort !== undefined) listeners.push(outboundListener(mesh, { ...dep, listenPort: dep.listenPort }, opts));
  }
  return { listeners, clusters };
}
