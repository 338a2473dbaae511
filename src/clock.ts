// All timing in trustplane goes through a Clock so that renewal, rotation and TTL logic can be driven by tests in
// milliseconds instead of hours.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Runs fn once after ms milliseconds (of this clock's time). */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    // Node timers overflow past 2^31-1 ms (~24.8 days) and fire at once; chain shorter waits instead.
    const max = 0x7fffffff;
    let handle: NodeJS.Timeout;
    const due = Date.now() + ms;
    const arm = (): void => {
      const left = due - Date.now();
      handle = setTimeout(left > max ? arm : fn, Math.max(0, Math.min(left, max)));
      handle.unref?.();
    };
    arm();
    return { cancel: () => clearTimeout(handle) };
  },
};

interface ManualTimer {
  due: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to; timers fire in due order as time is advanced past them. */
export class ManualClock implements Clock {
  #now: number;
  #timers: ManualTimer[] = [];
  #seq = 0;

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.#now = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.#now;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: ManualTimer = { due: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Number of timers still waiting to fire. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by ms, firing every timer that falls due on the way, each at its own due time. */
  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  advanceTo(target: number): void {
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      this.#timers.sort((a, b) => a.due - b.due || a.seq - b.seq);
      const next = this.#timers[0];
      if (!next || next.due > target) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, next.due);
      next.fn();
    }
    this.#now = Math.max(this.#now, target);
  }

  /** Time of the next timer due, if any. */
  nextDue(): number | undefined {
    const live = this.#timers.filter((t) => !t.cancelled).map((t) => t.due);
    return live.length ? Math.min(...live) : undefined;
  }
}
