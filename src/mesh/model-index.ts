// The model's lookups: services by name, by SPIFFE ID and by node principal. A model made by patching the last
// resolve patches the last model's lookups too (the changed services out, their new objects in) instead of indexing
// every service again; each model keeps its own answers, since the one in force stays in use while the next is made.
import type { NodePrincipal, Service } from './model.js';
import { principalToString } from './principal.js';
import type { ServiceDelta } from './resolve.js';

/** A map made of the last one's entries and a few changes over them (undefined: removed), flattened now and then. */
class Layered<V> {
  constructor(
    private readonly base: ReadonlyMap<string, V>,
    private readonly top: ReadonlyMap<string, V | undefined> = new Map(),
  ) {}

  get(key: string): V | undefined {
    return this.top.has(key) ? this.top.get(key) : this.base.get(key);
  }

  /** A new map: this one with `changes`. Copies the changes so far, or every entry once they outgrow a share. */
  with(changes: ReadonlyMap<string, V | undefined>): Layered<V> {
    if (this.top.size + changes.size <= 64 + this.base.size / 16) return new Layered(this.base, new Map([...this.top, ...changes]));
    const flat = new Map(this.base);
    for (const layer of [this.top, changes]) for (const [k, v] of layer) v === undefined ? flat.delete(k) : flat.set(k, v);
    return new Layered(flat);
  }
}

/**
 * Where a service object sits in its model: its path is `services[<index>]`, and a service object's path (and so
 * its place) never changes (no table keyed by every service object is kept for this).
 */
const PREFIX = 'services[';
const place = (s: Service): number => Number(s.path.slice(PREFIX.length, -1));

export class ModelIndex {
  private constructor(
    private readonly byName: Layered<Service>,
    private readonly byId: Layered<Service>,
    private readonly byPrincipal: Layered<readonly Service[]>,
  ) {}

  static build(services: readonly Service[]): ModelIndex {
    const byName = new Map<string, Service>();
    const byId = new Map<string, Service>();
    const byPrincipal = new Map<string, Service[]>();
    services.forEach((s) => {
      byName.set(s.name, s);
      byId.set(s.spiffeId.toString(), s);
      for (const p of s.nodes) {
        const key = principalToString(p);
        const list = byPrincipal.get(key) ?? [];
        if (!list.includes(s)) list.push(s);
        byPrincipal.set(key, list);
      }
    });
    for (const list of byPrincipal.values()) Object.freeze(list);
    return new ModelIndex(new Layered(byName), new Layered(byId), new Layered(byPrincipal));
  }

  /** The lookups of `services`, made from this index of `delta.previous` and what changed. */
  patch(services: readonly Service[], delta: ServiceDelta): ModelIndex {
    const names = new Map<string, Service | undefined>();
    const ids = new Map<string, Service | undefined>();
    const keys = new Set<string>();
    const gone = new Set(delta.removed);
    for (const s of delta.removed) {
      names.set(s.name, undefined);
      ids.set(s.spiffeId.toString(), undefined);
      for (const p of s.nodes) keys.add(principalToString(p));
    }
    const added: Service[] = [];
    for (const i of delta.changed) {
      const s = services[i]!;
      added.push(s);
      names.set(s.name, s);
      ids.set(s.spiffeId.toString(), s);
      for (const p of s.nodes) keys.add(principalToString(p));
    }
    const principals = new Map<string, readonly Service[] | undefined>();
    for (const key of keys) {
      const list = (this.byPrincipal.get(key) ?? []).filter((s) => !gone.has(s));
      for (const s of added) if (!list.includes(s) && s.nodes.some((p) => principalToString(p) === key)) list.push(s);
      list.sort((a, b) => place(a) - place(b));
      principals.set(key, list.length ? Object.freeze(list) : undefined);
    }
    return new ModelIndex(this.byName.with(names), this.byId.with(ids), this.byPrincipal.with(principals));
  }

  service(name: string): Service | undefined {
    return this.byName.get(name);
  }

  serviceBySpiffeId(id: string): Service | undefined {
    return this.byId.get(id);
  }

  servicesFor(p: NodePrincipal): readonly Service[] {
    return this.byPrincipal.get(principalToString(p)) ?? [];
  }
}
