// A string-keyed map that holds its first entry inline and makes a Map only when a second key arrives. A proxy's
// status record keeps one of these per type, and nearly every stream (an SDS stream of one secret) records one
// resource: an empty Map with its hash table costs several times the one entry it would hold.
export class SmallMap<V> {
  #key: string | undefined = undefined;
  #value: V | undefined = undefined;
  #map: Map<string, V> | undefined = undefined;

  get(key: string): V | undefined {
    if (this.#map) return this.#map.get(key);
    return key === this.#key ? this.#value : undefined;
  }

  set(key: string, value: V): void {
    if (this.#map) {
      this.#map.set(key, value);
    } else if (this.#key === undefined || this.#key === key) {
      this.#key = key;
      this.#value = value;
    } else {
      this.#map = new Map([[this.#key, this.#value as V], [key, value]]);
      this.#key = undefined;
      this.#value = undefined;
    }
  }

  delete(key: string): boolean {
    if (this.#map) return this.#map.delete(key);
    if (this.#key !== key) return false;
    this.#key = undefined;
    this.#value = undefined;
    return true;
  }

  /** Whether a Map was ever made (for tests that count what an idle stream holds). */
  get spilled(): boolean {
    return this.#map !== undefined;
  }

  *entries(): IterableIterator<[string, V]> {
    if (this.#map) yield* this.#map;
    else if (this.#key !== undefined) yield [this.#key, this.#value as V];
  }

  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }
}
