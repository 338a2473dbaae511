// Feeds the xDS resource cache from a mesh model: one group per service (node.cluster names it), holding that
// service's listeners and clusters. Services that left the mesh lose their group.
import { create } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { buildNodeResources, isGenerated, resourceOptions, type ResourceOptions } from '../envoy/index.js';
import type { MeshModel } from '../mesh/index.js';
import type { NamedResource, ResourceCache, ResourceSnapshot } from '../xds/resource-cache.js';
import { CONFIG_TYPES, type ConfigTypeUrl } from '../xds/type-urls.js';

/** Builds every group first, then swaps them in, so a generator error leaves the cache as it was. */
export function applyMeshResources(cache: ResourceCache, mesh: MeshModel, previous: readonly string[], options: ResourceOptions = resourceOptions()): string[] {
  const snapshots = new Map<string, ResourceSnapshot>();
  for (const service of mesh.services) {
    if (!isGenerated(service)) continue;
    const byType = new Map<ConfigTypeUrl, NamedResource[]>(CONFIG_TYPES.map((t) => [t, []]));
    for (const r of buildNodeResources(mesh, service, options)) {
      byType.get(r.typeUrl as ConfigTypeUrl)?.push({ name: r.name, resource: create(AnySchema, { typeUrl: r.typeUrl, value: r.bytes }) });
    }
    snapshots.set(service.name, Object.fromEntries(byType) as ResourceSnapshot);
  }
  for (const [group, snapshot] of snapshots) cache.setSnapshot(group, snapshot);
  for (const gone of previous) if (!snapshots.has(gone)) cache.removeGroup(gone);
  return [...snapshots.keys()];
}
