// The per-service resource set: what `generate` writes and what the xDS server serves over ADS to the node
// whose node.cluster names the service.
import { toBinary } from '@bufbuild/protobuf';
import { ClusterSchema, type Cluster } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from '#gen/envoy/config/endpoint/v3/endpoint_pb';
import { ListenerSchema, type Listener } from '#gen/envoy/config/listener/v3/listener_pb';
import { RouteConfigurationSchema, type RouteConfiguration } from '#gen/envoy/config/route/v3/route_pb';
import type { MeshModel, Service, Target } from '../mesh/model.js';
import { EnvoyGenerateError } from './errors.js';
import { gatewayResources } from './gateway/resources.js';
import { grpcResources } from './grpc/resources.js';
import { inboundListener, localCluster } from './inbound.js';
import { resourceOptions, type ResourceOptions } from './options.js';
import { outboundCluster, outboundListener } from './outbound.js';
import { sidecarWire } from './sidecar-wire.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from './type-urls.js';
import { vmResources } from './vm/resources.js';

export interface ServiceResources {
  /** Inbound listeners in description order, then outbound listeners in description order. */
  readonly listeners: readonly Listener[];
  /** Local application clusters, then one per dependency, in description order. */
  readonly clusters: readonly Cluster[];
  /** RouteConfigurations served by RDS (targets whose listeners do not inline their routes). */
  readonly routes?: readonly RouteConfiguration[];
  /** ClusterLoadAssignments served by EDS (targets whose clusters do not inline their endpoints). */
  readonly endpoints?: readonly ClusterLoadAssignment[];
}

type TargetBuilder = (mesh: MeshModel, service: Service, opts: ResourceOptions) => ServiceResources;

function sidecarResources(mesh: MeshModel, service: Service, opts: ResourceOptions): ServiceResources {
  const listeners: Listener[] = service.inbound.map((port) => inboundListener(mesh, service, port, opts));
  const clusters: Cluster[] = service.inbound.map((port) => localCluster(mesh, port, opts));
  for (const dep of service.outbound) {
    clusters.push(outboundCluster(service, dep, opts));
    if (dep.listenPort !== undefined) listeners.push(outboundListener(mesh, { ...dep, listenPort: dep.listenPort }, opts));
  }
  return { listeners, clusters };
}

/** One generator per target; a target without one is parsed but not generated. */
const TARGET_BUILDERS: Partial<Record<Target, TargetBuilder>> = {
  sidecar: sidecarResources,
  gateway: gatewayResources,
  vm: vmResources,
  grpc: grpcResources,
};

/** Targets with a generator. */
export const GENERATED_TARGETS: readonly Target[] = Object.keys(TARGET_BUILDERS) as Target[];

export function isGenerated(service: Service): boolean {
  return TARGET_BUILDERS[service.target] !== undefined;
}

export function buildServiceResources(mesh: MeshModel, service: Service, options: Partial<ResourceOptions> | ResourceOptions = {}): ServiceResources {
  const build = TARGET_BUILDERS[service.target];
  if (!build) {
    throw new EnvoyGenerateError(
      'UNSUPPORTED_TARGET',
      `${service.path}: service ${service.name} has target ${service.target}; Envoy resources are generated for: ${GENERATED_TARGETS.join(', ')}`,
    );
  }
  return build(mesh, service, resourceOptions(options));
}

export interface NodeResource {
  readonly typeUrl: string;
  readonly name: string;
  /** The resource as a message; for sidecars built on first access (serving needs only the bytes). */
  readonly message: Listener | Cluster | RouteConfiguration | ClusterLoadAssignment;
  /** The resource's binary encoding, computed once so every stream can reuse it; may be a view of a shared slab (read it, never write it). */
  readonly bytes: Uint8Array;
}

/** What the xDS server's cache holds for a node serving `service`: Listener and Cluster resources over ADS. */
export function buildNodeResources(mesh: MeshModel, service: Service, options: Partial<ResourceOptions> = {}): NodeResource[] {
  if (service.target === 'sidecar') return sidecarNodeResources(mesh, service, resourceOptions(options));
  const { listeners, clusters, routes = [], endpoints = [] } = buildServiceResources(mesh, service, options);
  return [
    ...listeners.map((message) => ({ typeUrl: LISTENER_TYPE_URL, name: message.name, message, bytes: toBinary(ListenerSchema, message) })),
    ...clusters.map((message) => ({ typeUrl: CLUSTER_TYPE_URL, name: message.name, message, bytes: toBinary(ClusterSchema, message) })),
    ...routes.map((message) => ({ typeUrl: ROUTE_TYPE_URL, name: message.name, message, bytes: toBinary(RouteConfigurationSchema, message) })),
    ...endpoints.map((message) => ({ typeUrl: ENDPOINT_TYPE_URL, name: message.clusterName, message, bytes: toBinary(ClusterLoadAssignmentSchema, message) })),
  ];
}

/**
 * A sidecar's resources, the hot path of a reload: bytes written directly (sidecar-wire.ts), the messages built
 * only if someone asks for one, from the same inputs (test/envoy/wire.test.ts holds the two to the same bytes).
 */
function sidecarNodeResources(mesh: MeshModel, service: Service, opts: ResourceOptions): NodeResource[] {
  const { listeners, clusters } = sidecarWire(mesh, service, opts);
  const messages = new LazyMessages(mesh, service, opts);
  const out: NodeResource[] = [];
  for (let i = 0; i < listeners.length; i++) out.push(new SidecarResource(LISTENER_TYPE_URL, listeners[i]!.name, listeners[i]!.bytes, messages, i));
  for (let i = 0; i < clusters.length; i++) out.push(new SidecarResource(CLUSTER_TYPE_URL, clusters[i]!.name, clusters[i]!.bytes, messages, i));
  return out;
}

/** One service's messages, built on first use and shared by its resources. */
class LazyMessages {
  #built: ServiceResources | undefined;
  constructor(
    private readonly mesh: MeshModel,
    private readonly service: Service,
    private readonly opts: ResourceOptions,
  ) {}
  get(): ServiceResources {
    return (this.#built ??= sidecarResources(this.mesh, this.service, this.opts));
  }
}

class SidecarResource implements NodeResource {
  constructor(
    readonly typeUrl: string,
    readonly name: string,
    readonly bytes: Uint8Array,
    private readonly messages: LazyMessages,
    private readonly index: number,
  ) {}
  get message(): Listener | Cluster {
    const built = this.messages.get();
    return (this.typeUrl === LISTENER_TYPE_URL ? built.listeners[this.index] : built.clusters[this.index])!;
  }
}

/** The service a node serves: node.cluster names it (bootstrap.ts writes it so). */
export function serviceForNode(mesh: MeshModel, nodeCluster: string): Service | undefined {
  return mesh.serviceByName(nodeCluster);
}
