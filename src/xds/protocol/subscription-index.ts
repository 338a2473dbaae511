// Which streams want which names, so a change reaches only the streams subscribed to it (a rotation of one
// identity touches its subscribers, not every proxy; a rebuilt service's listeners touch its own proxies, not
// every wildcard subscriber).

export interface ChangeListener {
  /** Something this stream may be subscribed to changed; `at` is when the change was noticed. */
  markDirty(typeUrl: string, at: number): void;
  /**
   * The resource-cache group the stream is served from (its node.cluster), fixed by its first request; a change
   * scoped to another group does not concern it. Undefined: every change does.
   */
  readonly group?: string | undefined;
}

/** Wildcard subscribers whose group is not known: told of every change. */
const ANY_GROUP = Symbol('any group');

export class SubscriptionIndex {
  readonly #byName = new Map<string, Map<string, Set<ChangeListener>>>();
  /** Wildcard subscribers by type, then by group. */
  readonly #wildcard = new Map<string, Map<string | typeof ANY_GROUP, Set<ChangeListener>>>();

  add(s: ChangeListener, typeUrl: string, name: string): void {
    let names = this.#byName.get(typeUrl);
    if (!names) this.#byName.set(typeUrl, (names = new Map()));
    let set = names.get(name);
    if (!set) names.set(name, (set = new Set()));
    set.add(s);
  }

  remove(s: ChangeListener, typeUrl: string, name: string): void {
    const names = this.#byName.get(typeUrl);
    const set = names?.get(name);
    if (!set) return;
    set.delete(s);
    if (set.size === 0) names!.delete(name);
  }

  setWildcard(s: ChangeListener, typeUrl: string, on: boolean): void {
    let groups = this.#wildcard.get(typeUrl);
    if (!groups) this.#wildcard.set(typeUrl, (groups = new Map()));
    if (on) {
      const key = s.group ?? ANY_GROUP;
      let set = groups.get(key);
      if (!set) groups.set(key, (set = new Set()));
      set.add(s);
      return;
    }
    // Wherever it was filed (its group may have become known since).
    for (const key of [s.group ?? ANY_GROUP, ANY_GROUP] as (string | typeof ANY_GROUP)[]) {
      const set = groups.get(key);
      if (!set?.delete(s)) continue;
      if (set.size === 0) groups.delete(key);
    }
  }

  /**
   * Marks every stream subscribed to any of the names (or to the whole type) dirty, each once. With `group`, the
   * names changed in that group only: streams served from another group are left alone (the default group '' is
   * seen by every stream, so a change there reaches all).
   */
  notify(typeUrl: string, names: Iterable<string>, at: number, group?: string): number {
    const targets = new Set<ChangeListener>();
    const scoped = group !== undefined && group !== '';
    const groups = this.#wildcard.get(typeUrl);
    const sets = scoped ? [groups?.get(group), groups?.get(ANY_GROUP)] : [...(groups?.values() ?? [])];
    for (const set of sets) for (const s of set ?? []) targets.add(s);
    const byName = this.#byName.get(typeUrl);
    if (byName) {
      for (const n of names) {
        for (const s of byName.get(n) ?? []) if (!scoped || s.group === undefined || s.group === group) targets.add(s);
      }
    }
    for (const s of targets) s.markDirty(typeUrl, at);
    return targets.size;
  }

  /** Every stream with any subscription to the type (after a policy change, say). */
  notifyAll(typeUrl: string, at: number): void {
    const targets = new Set<ChangeListener>();
    for (const set of this.#wildcard.get(typeUrl)?.values() ?? []) for (const s of set) targets.add(s);
    for (const set of this.#byName.get(typeUrl)?.values() ?? []) for (const s of set) targets.add(s);
    for (const s of targets) s.markDirty(typeUrl, at);
  }
}
