// Which services a new description changed, by identity: the mesh stage hands back the same frozen service object
// for a service whose resolved inputs did not change (resolve.ts), and a held-back copy is the same copy as
// long as it is held back the same way (rollout/with-modes.ts). Comparing by position is one pointer comparison per
// service; only when services were inserted, removed or reordered is a lookup by name needed.
import type { Service } from './model.js';

export interface ServiceDiff {
  /** Services new or different in `next` (the new objects), in description order. */
  readonly changed: readonly Service[];
  /** Services of `prev` that `next` replaced or dropped (the old objects). */
  readonly replaced: readonly Service[];
  /** False when services were only edited in place (same names at the same positions, plus any appended). */
  readonly reshaped: boolean;
  /** Without a reshape: the position in `next` of each of `changed` (empty after a reshape). */
  readonly at: readonly number[];
}

const NONE: readonly number[] = Object.freeze([]);

/**
 * Diff counters (tests read them, not timers): diffs that fell back to comparing whole sets (after a reshape), and
 * diffs worked out (not the last one handed back again).
 */
export const diffCounters = { reshaped: 0, made: 0 };

/**
 * The last diff made: one reload asks for the same pair of (frozen) service arrays up to three times (the STRICT
 * gate, the rollout controller, the evidence's ports), and a diff is a pure function of the two arrays. Held weakly:
 * a reload runs in one turn (a weak reference holds its target until the turn ends), and the diff's replaced
 * services are not kept alive past it.
 */
let last: { readonly prev: WeakRef<readonly Service[]>; readonly next: WeakRef<readonly Service[]>; readonly diff: WeakRef<ServiceDiff> } | undefined;

export function diffServices(prev: readonly Service[], next: readonly Service[]): ServiceDiff {
  const hit = last && last.prev.deref() === prev && last.next.deref() === next && Object.isFrozen(prev) && Object.isFrozen(next) ? last.diff.deref() : undefined;
  if (hit) return hit;
  diffCounters.made++;
  const diff = diffAfresh(prev, next);
  last = { prev: new WeakRef(prev), next: new WeakRef(next), diff: new WeakRef(diff) };
  return diff;
}

/** The diff, worked out now (not the last one kept): for a pair no other reader asks for, so it would only evict it. */
export function diffAfresh(prev: readonly Service[], next: readonly Service[]): ServiceDiff {
  const changed: Service[] = [];
  const replaced: Service[] = [];
  const at: number[] = [];
  const common = Math.min(prev.length, next.length);
  let reshaped = prev.length > next.length;
  for (let i = 0; i < common && !reshaped; i++) {
    const a = prev[i]!;
    const b = next[i]!;
    if (a === b) continue;
    if (a.name !== b.name) reshaped = true;
    else {
      changed.push(b);
      replaced.push(a);
      at.push(i);
    }
  }
  if (!reshaped) {
    for (let i = common; i < next.length; i++) changed.push(next[i]!), at.push(i);
    return Object.freeze({ changed: Object.freeze(changed), replaced: Object.freeze(replaced), reshaped: false, at: Object.freeze(at) });
  }
  // Insertions, removals or a new order: compare as sets of objects.
  diffCounters.reshaped++;
  const had = new Set(prev);
  const has = new Set(next);
  return Object.freeze({ changed: Object.freeze(next.filter((s) => !had.has(s))), replaced: Object.freeze(prev.filter((s) => !has.has(s))), reshaped: true, at: NONE });
}
