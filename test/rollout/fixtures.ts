// Meshes for the rollout tests: `orders` serves port 9000; `web` and `reports` call it. Parsed by the real parser.
import { create, fromBinary } from '@bufbuild/protobuf';
import { AnySchema, type Any } from '@bufbuild/protobuf/wkt';
import { ListenerSchema, type Listener } from '#gen/envoy/config/listener/v3/listener_pb';
import { ClusterSchema, type Cluster } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { parseMesh } from '../../src/mesh/parse.js';
import type { MeshModel, Mode } from '../../src/mesh/model.js';
import { buildNodeResources, isGenerated } from '../../src/envoy/index.js';
import type { NamedResource, ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { TYPE_CLUSTER, TYPE_LISTENER } from '../../src/xds/type-urls.js';

export interface MeshModes {
  readonly orders: Mode;
  readonly web?: Mode;
  readonly reports?: Mode;
  /** Protocol of orders' port (http unless said): changes the listener without changing its mode. */
  readonly protocol?: 'http' | 'tcp';
  /** Leave reports out of the mesh. */
  readonly withoutReports?: boolean;
}

export function shopMesh(m: MeshModes): MeshModel {
  const reports = m.withoutReports
    ? ''
    : `
  - name: reports
    spiffeId: spiffe://example.org/reports
    nodes: [uid:2003]
    mode: ${m.reports ?? 'PERMISSIVE'}
    outbound:
      - service: orders
      - name: warehouse
        address: warehouse.example.net
        port: 443
        mode: STRICT
        spiffeIds: [spiffe://example.org/warehouse]`;
  return parseMesh(
    `
trustDomain: example.org
services:
  - name: orders
    spiffeId: spiffe://example.org/orders
    nodes: [uid:2001]
    inbound:
      - { port: 9000, appPort: 8000, protocol: ${m.protocol ?? 'http'}, mode: ${m.orders} }
    allowedCallers:
      - trustDomain: example.org
  - name: web
    spiffeId: spiffe://example.org/web
    nodes: [uid:2002]
    mode: ${m.web ?? 'PERMISSIVE'}
    outbound:
      - service: orders${reports}
`,
    'test/shop.yaml',
  );
}

/** What the control plane does with an effective model: each generated service's listeners and clusters into its group. */
export function publish(cache: ResourceCache, model: MeshModel): void {
  for (const service of model.services) {
    if (!isGenerated(service)) continue;
    const listeners: NamedResource[] = [];
    const clusters: NamedResource[] = [];
    for (const r of buildNodeResources(model, service)) {
      const named = { name: r.name, resource: create(AnySchema, { typeUrl: r.typeUrl, value: r.bytes }) };
      (r.typeUrl === TYPE_LISTENER ? listeners : clusters).push(named);
    }
    cache.setSnapshot(service.name, { [TYPE_LISTENER]: listeners, [TYPE_CLUSTER]: clusters });
  }
}

/** transport_protocol of each filter chain match, in order: ['tls', 'raw_buffer'] is PERMISSIVE. */
export function chainProtocols(l: Listener): string[] {
  return l.filterChains.map((c) => c.filterChainMatch?.transportProtocol ?? '');
}

/** 'mtls' when the cluster has an UpstreamTlsContext transport socket, else 'plaintext'. */
export function clusterTransport(c: Cluster): 'mtls' | 'plaintext' {
  return c.transportSocket?.name === 'envoy.transport_sockets.tls' ? 'mtls' : 'plaintext';
}

export function listenerOf(a: Any): Listener {
  if (a.typeUrl !== TYPE_LISTENER) throw new Error(`not a Listener: ${a.typeUrl}`);
  return fromBinary(ListenerSchema, a.value);
}

export function clusterOf(a: Any): Cluster {
  if (a.typeUrl !== TYPE_CLUSTER) throw new Error(`not a Cluster: ${a.typeUrl}`);
  return fromBinary(ClusterSchema, a.value);
}

/** Mode a listener implements, read from its chains. */
export function listenerMode(l: Listener): Mode {
  const p = chainProtocols(l).sort().join(',');
  if (p === 'raw_buffer') return 'DISABLE';
  if (p === 'raw_buffer,tls') return 'PERMISSIVE';
  if (p === 'tls') return 'STRICT';
  throw new Error(`listener ${l.name} has chains ${p}`);
}
