// The vm target: a VM's Envoy, run like a sidecar (inbound ports with the mode table and RBAC, loopback
// listeners for the application's dependencies), whose dependencies may be services of an Istio mesh. Only the
// upstream side differs from the sidecar: Istio services get the SNI and ALPN Istio's sidecars expect.
//
// The VM's own identity is trustplane's either way: in its own trust domain (the mesh description's), which
// the Istio side federates, or in cluster.local with trustplane's CA as an intermediate under Istio's root
// (`trustplane serve --upstream-cert/--upstream-key` from Istio's cacerts); the resources are the same.
import type { MeshModel, Service } from '../../mesh/model.js';
import { inboundListener, localCluster } from '../inbound.js';
import type { ResourceOptions } from '../options.js';
import { outboundListener } from '../outbound.js';
import type { ClusterInit, EndpointInit, ListenerInit, ServiceResourceInits } from '../resources.js';
import { upstreamCluster } from './upstream.js';

export function vmResources(mesh: MeshModel, service: Service, opts: ResourceOptions): ServiceResourceInits {
  const listeners: ListenerInit[] = service.inbound.map((port) => inboundListener(mesh, service, port, opts));
  const clusters: ClusterInit[] = service.inbound.map((port) => localCluster(mesh, port, opts));
  for (const dep of service.outbound) {
    clusters.push(upstreamCluster(service, dep, opts));
    if (dep.listenPort !== undefined) listeners.push(outboundListener(mesh, { ...dep, listenPort: dep.listenPort }, opts));
  }
  return { listeners, clusters };
}
