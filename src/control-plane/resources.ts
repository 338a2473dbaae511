// Feeds the xDS resource cache from a mesh model: one group per service (node.cluster names it), holding that
// service's listeners, clusters, routes and endpoints. Incremental, the way istiod scopes a push: a service whose
// resolved inputs (envoy/inputs.ts) are those of the model in force is not rebuilt, re-encoded or re-versioned,
// and its group is not touched, so no proxy of it hears of the reload; services that left the mesh lose their
// group. The counters say how much each apply did (bench/reload and the tests read them, not timers).
import { isGenerated, resourceOptions, type ResourceOptions } from '../envoy/index.js';
import { encodeNodeResources } from '../envoy/resources.js';
import { changedServices, meshInputs, sameInputs, serviceInputs, type ServiceInputs } from '../envoy/inputs.js';
import type { MeshModel, Service } from '../mesh/index.js';
import type { ResourceCache, StagedGroup } from '../xds/cache/resource-cache.js';
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
  /**
   * Services whose inputs were worked out and compared with those in force: the ones that are not the very
   * service objects of the model applied last (all of them when mesh-wide inputs changed, or on the first apply).
   */
  readonly inputsCompared: number;
}

export class MeshResources {
  /** Per generated service in force: the inputs its group was built from. */
  readonly #inputs = new Map<string, ServiceInputs>();
  /** The services of the model applied last, and its mesh-wide inputs (undefined before the first apply). */
  #services: readonly Service[] = [];
  #meshInputs: string | undefined;
  #last: ApplyStats = { services: 0, servicesRegenerated: 0, resourcesRegenerated: 0, servicesRemoved: 0, inputsCompared: 0 };
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
   * leaves the cache (and what this object remembers) as it was. Only services that are not the very objects of
   * the model applied last are looked at (envoy/inputs.ts changedServices), unless mesh-wide inputs changed.
   */
  apply(mesh: MeshModel): ApplyStats {
    const wide = meshInputs(mesh);
    const { changed, removed } = wide === this.#meshInputs ? changedServices(this.#services, mesh) : everything(mesh, this.#inputs);
    const inputs = new Map<string, ServiceInputs>();
    const gone = new Set<string>(removed);
    const staged: StagedGroup[] = [];
    let resources = 0;
    let compared = 0;
    for (const service of changed) {
      if (!isGenerated(service)) {
        gone.add(service.name);
        continue;
      }
      compared++;
      const now = serviceInputs(mesh, service, this.options);
      const before = this.#inputs.get(service.name);
      // Unchanged (a copy equal to the one in force): keep the inputs in force (the model they belong to may go).
      if (before && sameInputs(before, now)) continue;
      inputs.set(service.name, now);
      // Every config type is staged, empty or not, so a type the service no longer has is emptied. The resources
      // come encoded as Anys (one buffer per service) and the cache keeps them as they are: what survives while
      // every service is built is what the cache will keep, nothing more.
      const group = this.cache.stage(service.name, CONFIG_TYPES);
      // A resource whose bytes come out as they were is staged as the very Any in force (no copy of it is made).
      resources += encodeNodeResources(mesh, service, this.options, (typeUrl, name, any) => group.add(typeUrl as ConfigTypeUrl, name, typeUrl, any), group.held());
      staged.push(group);
    }
    for (const group of staged) this.cache.commit(group);
    let dropped = 0;
    for (const name of gone) {
      if (!this.#inputs.delete(name)) continue;
      this.cache.removeGroup(name);
      dropped++;
    }
    for (const [name, now] of inputs) this.#inputs.set(name, now);
    this.#services = mesh.services;
    this.#meshInputs = wide;
    this.#totals.servicesRegenerated += staged.length;
    this.#totals.resourcesRegenerated += resources;
    this.#last = { services: this.#inputs.size, servicesRegenerated: staged.length, resourcesRegenerated: resources, servicesRemoved: dropped, inputsCompared: compared };
    return this.#last;
  }
}

/** Every service may have changed (first apply, or mesh-wide inputs changed); every group of another name goes. */
function everything(mesh: MeshModel, inForce: ReadonlyMap<string, unknown>): { changed: readonly Service[]; removed: readonly string[] } {
  return { changed: mesh.services, removed: [...inForce.keys()].filter((name) => mesh.serviceByName(name) === undefined) };
}
