// What one stream is subscribed to for one type, by the xDS subscription rules (xds_protocol.rst, "How the
// client specifies what resources to return"). Pure state machines; the streams act on what they return.

export const WILDCARD = '*';

export interface SubscriptionDelta {
  /** Names newly subscribed by this request. */
  readonly added: readonly string[];
  /** Names no longer subscribed after this request. */
  readonly removed: readonly string[];
  /** Whether the wildcard subscription was switched on or off by this request. */
  readonly wildcardChanged: boolean;
}

abstract class Subscription {
  protected wildcardOn = false;

  constructor(readonly wildcardType: boolean) {}

  /** Subscribed to everything of the type (only ever for listeners and clusters). */
  get wildcard(): boolean {
    return this.wildcardOn;
  }
}

/**
 * State-of-the-World: every request carries the full list. For listeners and clusters, an empty list is the
 * legacy wildcard only while every request so far had an empty list; after an explicit subscription an empty
 * list means "nothing". `*` is an explicit wildcard. For every other type an empty list means "nothing".
 */
const UNCHANGED: SubscriptionDelta = Object.freeze({ added: [], removed: [], wildcardChanged: false });

export class SotwSubscription extends Subscription {
  #explicitSeen = false;
  /**
   * The explicit names, distinct, without `*`, in the order the proxy sent them: an idle stream keeps an array
   * of its one or two names, not a Set per stream.
   */
  #names: readonly string[] = [];

  /** Explicitly subscribed names (without `*`), each once. */
  get names(): readonly string[] {
    return this.#names;
  }

  update(resourceNames: readonly string[]): SubscriptionDelta {
    // Nearly every request is an ACK repeating the current list: answer it without building sets.
    if (this.#repeats(resourceNames)) return UNCHANGED;
    const before = new Set(this.#names);
    const wasWildcard = this.wildcardOn;
    const next = new Set(resourceNames);
    if (this.wildcardType) {
      if (next.size === 0) {
        this.wildcardOn = !this.#explicitSeen;
      } else {
        this.#explicitSeen = true;
        this.wildcardOn = next.delete(WILDCARD);
      }
    }
    const added: string[] = [];
    const removed: string[] = [];
    for (const n of next) if (!before.has(n)) added.push(n);
    for (const n of before) if (!next.has(n)) removed.push(n);
    // Same size: no duplicate and no `*` was dropped, so the list is the set, in the same order. Copied: the
    // decoded list has room to grow, a copy is exactly its length.
    this.#names = next.size === resourceNames.length ? resourceNames.slice() : [...next];
    return { added, removed, wildcardChanged: wasWildcard !== this.wildcardOn };
  }

  /**
   * The same names in the same order as the explicit list, and no wildcard on: update() would rebuild exactly
   * this state (a non-empty list has already set #explicitSeen, and `*` is never kept in the explicit list of a
   * wildcard type, so the wildcard stays off).
   */
  #repeats(names: readonly string[]): boolean {
    const held = this.#names;
    if (this.wildcardOn || names.length === 0 || names.length !== held.length) return false;
    for (let i = 0; i < held.length; i++) if (names[i] !== held[i]) return false;
    return true;
  }
}

/**
 * Delta: requests carry changes. For listeners and clusters, a first request that subscribes to nothing is the
 * legacy wildcard; `*` subscribes or unsubscribes the wildcard explicitly. Changes apply whatever the nonce.
 */
export class DeltaSubscription extends Subscription {
  #first = true;
  readonly #explicit = new Set<string>();

  /** Explicitly subscribed names (without `*`). */
  get names(): ReadonlySet<string> {
    return this.#explicit;
  }

  apply(subscribe: readonly string[], unsubscribe: readonly string[]): SubscriptionDelta {
    const wasWildcard = this.wildcardOn;
    const added: string[] = [];
    const removed: string[] = [];
    if (this.wildcardType && this.#first && subscribe.length === 0) this.wildcardOn = true;
    this.#first = false;
    for (const n of subscribe) {
      if (this.wildcardType && n === WILDCARD) this.wildcardOn = true;
      else if (!this.#explicit.has(n)) {
        this.#explicit.add(n);
        added.push(n);
      }
    }
    for (const n of unsubscribe) {
      if (this.wildcardType && n === WILDCARD) this.wildcardOn = false;
      else if (this.#explicit.delete(n)) removed.push(n);
    }
    return { added, removed, wildcardChanged: wasWildcard !== this.wildcardOn };
  }
}
