// Feeds the xDS resource cache from a mesh model: one group per service (node.cluster names it), holding that
// service's listeners, clusters, routes and endpoints. Incremental, the way istiod scopes a push: a service whose
// resolved inputs (envoy/inputs.ts) are those of the model in force is not rebuilt, re-encoded or re-versioned,
// and its group is not touched, so no proxy of it hears of the reload; services that left the mesh lose their
// group. The counters say how much each apply did (bench/reload and the tests read them, not timers).
import { create } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { buildNodeResources, isGenerated, resourceOptions, type ResourceOptions } from '../envoy/index.js';
import { sameInputs, serviceInputs, type ServiceInputs } from '../envoy/inputs.js';
import type { MeshModel } from '../mesh/index.js';
import type { NamedResource, ResourceCache, ResourceSnapshot } from '../xds/cache/resource-cache.js';
import { CONFIG_TYPES, type ConfigTypeUrl } from '../xds/type-urls.js';

/** What one apply did. */
export interface ApplyStats {
  /** Services generated in the model. */
  readonly services: number;
  /** Services rebuilt because their inputs changed (or they are new). */
  readonly servicesRegenerated: number;
  /** Resources built and encoded for those services. */
  readonly resourcesRegenerated: number;
  /** Groups dropped because their service left the mesh (or is no longer generated). */
  readonly servicesRemoved: number;
}

export class MeshResources {
  /** Per service in force: the inputs its group was built from. */
  #inputs = new Map<string, ServiceInputs>();
  #last: ApplyStats = { services: 0, servicesRegenerated: 0, resourcesRegenerated: 0, servicesRemoved: 0 };
  #totals = { servicesRegenerated: 0, resourcesRegenerated: 0 };

  constructor(
    private readonly cache: ResourceCache,
    private readonly options: ResourceOptions = resourceOptions(),
  ) {}

  /** The stats of the last apply. */
  get last(): ApplyStats {
    return this.#last;
  }

  /** Services and resources rebuilt since this object was made (a reload may apply several rollout steps). */
  get totals(): { readonly servicesRegenerated: number; readonly resourcesRegenerated: number } {
    return { ...this.#totals };
  }

  /**
   * Brings the cache to `mesh`. Every changed group is built first, then they are swapped in, so a generator error
   * leaves the cache (and what this object remembers) as it was.
   */
  apply(mesh: MeshModel): ApplyStats {
    const inputs = new Map<string, ServiceInputs>();
    const snapshots = new Map<string, ResourceSnapshot>();
    let resources = 0;
    for (const service of mesh.services) {
      if (!isGenerated(service)) continue;
      const now = serviceInputs(mesh, service, this.options);
      const before = this.#inputs.get(service.name);
      // Unchanged: keep the inputs in force (and the model they belong to may go).
      if (before && sameInputs(before, now)) {
        inputs.set(service.name, before);
        continue;
      }
      inputs.set(service.name, now);
      const byType = new Map<ConfigTypeUrl, NamedResource[]>(CONFIG_TYPES.map((t) => [t, []]));
      for (const r of buildNodeResources(mesh, service, this.options)) {
        byType.get(r.typeUrl as ConfigTypeUrl)?.push({ name: r.name, resource: create(AnySchema, { typeUrl: r.typeUrl, value: r.bytes }) });
        resources++;
      }
      snapshots.set(service.name, Object.fromEntries(byType) as ResourceSnapshot);
    }
    for (const [group, snapshot] of snapshots) this.cache.setSnapshot(group, snapshot);
    let removed = 0;
    for (const gone of this.#inputs.keys()) {
      if (inputs.has(gone)) continue;
      this.cache.removeGroup(gone);
      removed++;
    }
    this.#inputs = inputs;
    this.#totals.servicesRegenerated += snapshots.size;
    this.#totals.resourcesRegenerated += resources;
    this.#last = { services: inputs.size, servicesRegenerated: snapshots.size, resourcesRegenerated: resources, servicesRemoved: removed };
    return this.#last;
  }
}
