// Which streams want which names, so a change reaches only the streams subscribed to it (a rotation of one
// identity touches its subscribers, not every proxy).

export interface ChangeListener {
  /** Something this stream may be subscribed to changed; `at` is when the change was noticed. */
  markDirty(typeUrl: string, at: number): void;
}

export class SubscriptionIndex {
  readonly #byName = new Map<string, Map<string, Set<ChangeListener>>>();
  readonly #wildcard = new Map<string, Set<ChangeListener>>();

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
    let set = this.#wildcard.get(typeUrl);
    if (!set) this.#wildcard.set(typeUrl, (set = new Set()));
    if (on) set.add(s);
    else set.delete(s);
  }

  /** Marks every stream subscribed to any of the names (or to the whole type) dirty, each once. */
  notify(typeUrl: string, names: Iterable<string>, at: number): number {
    const targets = new Set<ChangeListener>(this.#wildcard.get(typeUrl));
    const byName = this.#byName.get(typeUrl);
    if (byName) for (const n of names) for (const s of byName.get(n) ?? []) targets.add(s);
    for (const s of targets) s.markDirty(typeUrl, at);
    return targets.size;
  }

  /** Every stream with any subscription to the type (after a policy change, say). */
  notifyAll(typeUrl: string, at: number): void {
    const targets = new Set<ChangeListener>(this.#wildcard.get(typeUrl));
    for (const set of this.#byName.get(typeUrl)?.values() ?? []) for (const s of set) targets.add(s);
    for (const s of targets) s.markDirty(typeUrl, at);
  }
}
