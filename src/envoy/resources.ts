// The per-service resource set: what `generate` writes and what the xDS server serves over ADS to the node
// whose node.cluster names the service. Each target's builder describes its resources once, as init shapes
// (typed.ts); serving encodes those directly (binary.ts), `generate` and the tests create the messages.
import { create } from '@bufbuild/protobuf';
import { ClusterSchema, type Cluster } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from '#gen/envoy/config/endpoint/v3/endpoint_pb';
import { ListenerSchema, type Listener } from '#gen/envoy/config/listener/v3/listener_pb';
import { RouteConfigurationSchema, type RouteConfiguration } from '#gen/envoy/config/route/v3/route_pb';
import type { MeshModel, Service, Target } from '../mesh/model.js';
import { encodeAnys, encodeAnyViews, type AnyInit, type EncodedAny } from './binary.js';
import { EnvoyGenerateError } from './errors.js';
import { gatewayResources } from './gateway/resources.js';
import { grpcResources } from './grpc/resources.js';
import { inboundListener, localCluster } from './inbound.js';
import { jwksCluster } from './jwt-authn.js';
import { resourceOptions, type ResourceOptions } from './options.js';
import { outboundCluster, outboundListener } from './outbound.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from './type-urls.js';
import type { Init } from './typed.js';
import { vmResources } from './vm/resources.js';

export type ListenerInit = Init<typeof ListenerSchema>;
export type ClusterInit = Init<typeof ClusterSchema>;
export type RouteInit = Init<typeof RouteConfigurationSchema>;
export type EndpointInit = Init<typeof ClusterLoadAssignmentSchema>;

/** What a target's builder returns: each resource described once, as the init shape of its message. */
export interface ServiceResourceInits {
  /** Inbound listeners in description order, then outbound listeners in description order. */
  readonly listeners: readonly ListenerInit[];
  /** Local application clusters, then one per dependency, in description order. */
  readonly clusters: readonly ClusterInit[];
  /** RouteConfigurations served by RDS (targets whose listeners do not inline their routes). */
  readonly routes?: readonly RouteInit[];
  /** ClusterLoadAssignments served by EDS (targets whose clusters do not inline their endpoints). */
  readonly endpoints?: readonly EndpointInit[];
}

/** The same resources as messages, in the same order. */
export interface ServiceResources {
  readonly listeners: readonly Listener[];
  readonly clusters: readonly Cluster[];
  readonly routes?: readonly RouteConfiguration[];
  readonly endpoints?: readonly ClusterLoadAssignment[];
}

type TargetBuilder = (mesh: MeshModel, service: Service, opts: ResourceOptions) => ServiceResourceInits;

function sidecarResources(mesh: MeshModel, service: Service, opts: ResourceOptions): ServiceResourceInits {
  const listeners: ListenerInit[] = service.inbound.map((port) => inboundListener(mesh, service, port, opts));
  const clusters: ClusterInit[] = service.inbound.map((port) => localCluster(mesh, port, opts));
  if (service.inbound.some((port) => port.requireJwt)) clusters.push(jwksCluster(opts));
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

function buildInits(mesh: MeshModel, service: Service, options: Partial<ResourceOptions> | ResourceOptions): ServiceResourceInits {
  const build = TARGET_BUILDERS[service.target];
  if (!build) {
    throw new EnvoyGenerateError(
      'UNSUPPORTED_TARGET',
      `${service.path}: service ${service.name} has target ${service.target}; Envoy resources are generated for: ${GENERATED_TARGETS.join(', ')}`,
    );
  }
  return build(mesh, service, resourceOptions(options));
}

/** The service's resources as messages (what `generate` prints and the tests read). */
export function buildServiceResources(mesh: MeshModel, service: Service, options: Partial<ResourceOptions> | ResourceOptions = {}): ServiceResources {
  const { listeners, clusters, routes, endpoints } = buildInits(mesh, service, options);
  return {
    listeners: listeners.map((l) => create(ListenerSchema, l)),
    clusters: clusters.map((c) => create(ClusterSchema, c)),
    ...(routes ? { routes: routes.map((r) => create(RouteConfigurationSchema, r)) } : {}),
    ...(endpoints ? { endpoints: endpoints.map((e) => create(ClusterLoadAssignmentSchema, e)) } : {}),
  };
}

export interface NodeResource {
  readonly typeUrl: string;
  readonly name: string;
  /** The resource as a message, created on first access (serving needs only the bytes). */
  readonly message: Listener | Cluster | RouteConfiguration | ClusterLoadAssignment;
  /** The resource's binary encoding, computed once so every stream can reuse it (a view into `any`). */
  readonly bytes: Uint8Array;
  /** The resource packed in a google.protobuf.Any (type URL `typeUrl`), as the xDS cache keeps it. */
  readonly any: Uint8Array;
}

/**
 * What the xDS server's cache holds for a node serving `service`: its resources, encoded — all into one buffer
 * (binary.ts encodeAnys), which lives as long as the service's resources do.
 */
export function buildNodeResources(mesh: MeshModel, service: Service, options: Partial<ResourceOptions> = {}): NodeResource[] {
  const items = pendingResources(mesh, service, options);
  const encoded = encodeAnys(items);
  return items.map((item, i) => new EncodedResource(item, encoded[i]!));
}

/**
 * buildNodeResources as a reload needs it: each resource's type URL, name and Any handed to `add` (no message,
 * no init shape held, no object per resource), so what survives while every regenerated service is built is
 * what the cache will keep. `held(typeUrl, name)` may answer the Any in force for the resource: when the new one
 * has the same bytes, that one is handed to `add` instead of a copy (binary.ts encodeAnyViews). Returns how many
 * resources there were.
 */
export function encodeNodeResources(
  mesh: MeshModel,
  service: Service,
  options: Partial<ResourceOptions>,
  add: (typeUrl: string, name: string, any: Uint8Array) => void,
  held?: (typeUrl: string, name: string) => Uint8Array | undefined,
): number {
  const items = pendingResources(mesh, service, options);
  const reuse = held
    ? (i: number, bytes: Uint8Array): Uint8Array | undefined => {
        const old = held(items[i]!.typeUrl, items[i]!.name);
        return old !== undefined && old.byteLength === bytes.byteLength && Buffer.compare(old, bytes) === 0 ? old : undefined;
      }
    : undefined;
  const anys = encodeAnyViews(items, reuse);
  for (let i = 0; i < items.length; i++) add(items[i]!.typeUrl, items[i]!.name, anys[i]!);
  return items.length;
}

function pendingResources(mesh: MeshModel, service: Service, options: Partial<ResourceOptions>): Pending[] {
  const { listeners, clusters, routes = [], endpoints = [] } = buildInits(mesh, service, options);
  const items: Pending[] = [];
  for (const init of listeners) items.push({ typeUrl: LISTENER_TYPE_URL, schema: ListenerSchema, name: init.name ?? '', init });
  for (const init of clusters) items.push({ typeUrl: CLUSTER_TYPE_URL, schema: ClusterSchema, name: init.name ?? '', init });
  for (const init of routes) items.push({ typeUrl: ROUTE_TYPE_URL, schema: RouteConfigurationSchema, name: init.name ?? '', init });
  for (const init of endpoints) items.push({ typeUrl: ENDPOINT_TYPE_URL, schema: ClusterLoadAssignmentSchema, name: init.clusterName ?? '', init });
  return items;
}

interface Pending extends AnyInit {
  readonly name: string;
}

class EncodedResource implements NodeResource {
  readonly typeUrl: string;
  readonly name: string;
  readonly any: Uint8Array;
  readonly #item: Pending;
  readonly #encoded: EncodedAny;
  #message: NodeResource['message'] | undefined;
  constructor(item: Pending, encoded: EncodedAny) {
    this.typeUrl = item.typeUrl;
    this.name = item.name;
    this.any = encoded.any;
    this.#item = item;
    this.#encoded = encoded;
  }
  get bytes(): Uint8Array {
    return this.#encoded.value;
  }
  get message(): NodeResource['message'] {
    return (this.#message ??= create(this.#item.schema, this.#item.init) as unknown as NodeResource['message']);
  }
}

/** The service a node serves: node.cluster names it (bootstrap.ts writes it so). */
export function serviceForNode(mesh: MeshModel, nodeCluster: string): Service | undefined {
  return mesh.serviceByName(nodeCluster);
}
