// Decides whose push runs next, so that one caller cannot starve another. Work is measured in units (a push
// costs a few units plus one per name it resolves); each turn of the event loop runs at most a budget of them,
// then yields (setImmediate) so sockets are flushed and other callbacks run. Within a turn, callers (node
// principals) take turns round-robin, one stream push at a time, whatever the number of streams or names each
// has: a caller with a thousand busy streams gets the same share as a proxy with one.
//
// Why turns matter at all: responses written in one synchronous run reach no socket until the run ends (HTTP/2
// frames are flushed between turns), so a rotation pushed to 10,000 streams in one go makes the first proxy wait
// for the last to be built. With a budget per turn the first responses are on the wire while later ones are
// still being built. When nothing is queued and the turn's budget is not spent, a push runs at once.

export interface Pumpable {
  /** Whose work this is: pushes of one owner never delay another owner's by more than one push each. */
  readonly owner: string;
  /** Sends what is dirty, as far as the outbox allows; returns the units of work it did. */
  pump(): number;
}

/** Units per turn: about 250 single-name pushes, or one push of a stream subscribed to a thousand names. */
export const TURN_BUDGET = 1024;
/** What a push costs besides the names it resolves (the envelope, the write). */
export const PUSH_COST = 4;

export interface SchedulerStats {
  /** Units run so far, per owner. */
  readonly work: ReadonlyMap<string, number>;
  /** Turns that ended with work left over. */
  readonly yields: number;
}

export class FairScheduler {
  /** Per owner, its queued streams in order; owners with a non-empty queue are in #ring. */
  readonly #queues = new Map<string, { items: Pumpable[]; head: number }>();
  readonly #ring: string[] = [];
  #ringHead = 0;
  /** Units run since the last turn began; beyond the budget, pushes wait for the next turn. */
  #spent = 0;
  #scheduled = false;
  #yields = 0;
  /** Per owner: principals are authenticated (mesh uids, nodes holding an SVID), so this stays small. */
  readonly #work = new Map<string, number>();

  constructor(
    /** A push that threw on a later turn (at once, it throws to whoever made the change). */
    private readonly onError: (err: unknown) => void,
    private readonly budget = TURN_BUDGET,
    private readonly defer: (fn: () => void) => void = setImmediate,
  ) {}

  schedule(s: Pumpable): void {
    if (this.#ring.length === this.#ringHead && this.#spent < this.budget) {
      this.#arm();
      this.#run(s, true);
      return;
    }
    let q = this.#queues.get(s.owner);
    if (!q) this.#queues.set(s.owner, (q = { items: [], head: 0 }));
    if (q.items.length === q.head) this.#ring.push(s.owner);
    q.items.push(s);
    this.#arm();
  }

  stats(): SchedulerStats {
    return { work: this.#work, yields: this.#yields };
  }

  #run(s: Pumpable, rethrow: boolean): void {
    let units = PUSH_COST;
    try {
      units = s.pump();
    } catch (err) {
      if (rethrow) throw err;
      this.onError(err);
    } finally {
      this.#spent += units;
      this.#work.set(s.owner, (this.#work.get(s.owner) ?? 0) + units);
    }
  }

  #arm(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.defer(() => this.#turn());
  }

  #turn(): void {
    this.#scheduled = false;
    this.#spent = 0;
    while (this.#spent < this.budget && this.#ringHead < this.#ring.length) {
      const owner = this.#ring[this.#ringHead++]!;
      const q = this.#queues.get(owner)!;
      const s = q.items[q.head]!;
      q.items[q.head++] = undefined as unknown as Pumpable;
      if (q.head === q.items.length) {
        this.#queues.delete(owner);
      } else {
        this.#ring.push(owner);
        if (q.head > 1024 && q.head * 2 > q.items.length) {
          q.items.splice(0, q.head);
          q.head = 0;
        }
      }
      this.#run(s, false);
    }
    if (this.#ringHead === this.#ring.length) {
      this.#ring.length = 0;
      this.#ringHead = 0;
    } else {
      this.#yields++;
      if (this.#ringHead > 1024) {
        this.#ring.splice(0, this.#ringHead);
        this.#ringHead = 0;
      }
      this.#arm();
    }
  }
}
