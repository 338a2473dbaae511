// Changes to maps and sets that can be taken back: an incremental resolve patches the indexes of the last one in
// place (copying them would cost as much as the edit saves), and undoes its patches when the new description turns
// out to have a problem, so the last good state stays the one the next edit is measured against.
export class Journal {
  readonly #undo: (() => void)[] = [];

  set<K, V>(map: Map<K, V>, key: K, value: V): void {
    const had = map.has(key);
    const old = map.get(key);
    this.#undo.push(() => (had ? map.set(key, old as V) : map.delete(key)));
    map.set(key, value);
  }

  delete<K, V>(map: Map<K, V>, key: K): void {
    if (!map.has(key)) return;
    const old = map.get(key) as V;
    this.#undo.push(() => map.set(key, old));
    map.delete(key);
  }

  add<T>(set: Set<T>, value: T): void {
    if (set.has(value)) return;
    this.#undo.push(() => set.delete(value));
    set.add(value);
  }

  remove<T>(set: Set<T>, value: T): void {
    if (!set.delete(value)) return;
    this.#undo.push(() => set.add(value));
  }

  /** Takes back every change, newest first. */
  rollback(): void {
    for (let i = this.#undo.length - 1; i >= 0; i--) this.#undo[i]!();
    this.#undo.length = 0;
  }
}
