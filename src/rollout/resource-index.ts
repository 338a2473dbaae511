// Values by resource (group, type URL, name), in nested maps: a lookup with the cache's own strings (whose hashes
// are known) builds no joined key, which matters when a full reload reports tens of thousands of changed names.
export class ResourceIndex<V> {
  readonly #groups = new Map<string, Map<string, Map<string, V>>>();

  get(group: string, typeUrl: string, name: string): V | undefined {
    return this.#groups.get(group)?.get(typeUrl)?.get(name);
  }

  /** The values of one group and type, by name (for a batch of changed names). */
  names(group: string, typeUrl: string): ReadonlyMap<string, V> | undefined {
    return this.#groups.get(group)?.get(typeUrl);
  }

  set(group: string, typeUrl: string, name: string, value: V): void {
    let types = this.#groups.get(group);
    if (!types) this.#groups.set(group, (types = new Map()));
    let names = types.get(typeUrl);
    if (!names) types.set(typeUrl, (names = new Map()));
    names.set(name, value);
  }

  delete(group: string, typeUrl: string, name: string): void {
    const types = this.#groups.get(group);
    const names = types?.get(typeUrl);
    if (!names?.delete(name) || names.size > 0) return;
    types!.delete(typeUrl);
    if (types!.size === 0) this.#groups.delete(group);
  }
}
