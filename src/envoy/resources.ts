// The per-service resource set: what `generate` writes and what the xDS server serves over ADS to the node
// whose node.cluster names the service.
import { toBinary } from '@bufbuild/protobuf';
import { ClusterSchema, type Cluster } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { ListenerSchema, type Listener } from '#gen/envoy/config/listener/v3/listener_pb';
import type { MeshModel, Service, Target } from '../mesh/model.js';
import { EnvoyGenerateError } from './errors.js';
import { inboundListener, localCluster } from './inbound.js';
import { resourceOptions, type ResourceOptions } from './options.js';
import { outboundCluster, outboundListener } from './outbound.js';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from './type-urls.js';

/** Targets with a generator today; issue 6 adds gateway, vm and grpc. */
export const GENERATED_TARGETS: readonly Target[] = ['sidecar'];

export interface ServiceResources {
  /** Inbound listeners in description order, then outbound listeners in description order. */
  readonly listeners: readonly Listener[];
  /** Local application clusters, then one per dependency, in description order. */
  readonly clusters: readonly Cluster[];
}

export function isGenerated(service: Service): boolean {
  return GENERATED_TARGETS.includes(service.target);
}

export function buildServiceResources(mesh: MeshModel, service: Service, options: Partial<ResourceOptions> | ResourceOptions = {}): ServiceResources {
  if (!isGenerated(service)) {
    throw new EnvoyGenerateError(
      'UNSUPPORTED_TARGET',
      `${service.path}: service ${service.name} has target ${service.target}; Envoy resources are generated for: ${GENERATED_TARGETS.join(', ')}`,
    );
  }
  const opts = resourceOptions(options);
  const listeners: Listener[] = service.inbound.map((port) => inboundListener(mesh, service, port, opts));
  const clusters: Cluster[] = service.inbound.map((port) => localCluster(mesh, port, opts));
  for (const dep of service.outbound) {
    clusters.push(outboundCluster(service, dep, opts));
    if (dep.listenPort !== undefined) listeners.push(outboundListener(mesh, { ...dep, listenPort: dep.listenPort }, opts));
  }
  return { listeners, clusters };
}

export interface NodeResource {
  readonly typeUrl: string;
  readonly name: string;
  readonly message: Listener | Cluster;
  /** The resource's binary encoding, computed once so every stream can reuse it. */
  readonly bytes: Uint8Array;
}

/** What the xDS server's cache holds for a node serving `service`: Listener and Cluster resources over ADS. */
export function buildNodeResources(mesh: MeshModel, service: Service, options: Partial<ResourceOptions> = {}): NodeResource[] {
  const { listeners, clusters } = buildServiceResources(mesh, service, options);
  return [
    ...listeners.map((message) => ({ typeUrl: LISTENER_TYPE_URL, name: message.name, message, bytes: toBinary(ListenerSchema, message) })),
    ...clusters.map((message) => ({ typeUrl: CLUSTER_TYPE_URL, name: message.name, message, bytes: toBinary(ClusterSchema, message) })),
  ];
}

/** The service a node serves: node.cluster names it (bootstrap.ts writes it so). */
export function serviceForNode(mesh: MeshModel, nodeCluster: string): Service | undefined {
  return mesh.serviceByName(nodeCluster);
}
