// Spreads a large fan-out over several turns of the event loop. Responses written in one synchronous loop reach
// no socket until the loop ends (HTTP/2 frames are flushed between turns), so pushing a rotation to 10,000
// streams in one go means the first proxy waits for the last one to be built, and the proxies' ACKs pile up
// behind it. In slices, the first responses are on the wire while later ones are still being built. A small
// fan-out (up to one slice) is pushed at once, exactly as before.

export interface Pumpable {
  /** Sends what is dirty, as far as the outbox allows. */
  pump(): void;
}

/** Streams pushed per turn: large enough that the per-turn overhead is noise, small enough to flush often. */
export const PUSH_SLICE = 256;

export class PushScheduler {
  readonly #queue: Pumpable[] = [];
  #head = 0;
  /** Pushed synchronously since the last turn; beyond a slice, pushes wait for the next turn. */
  #thisTurn = 0;
  #scheduled = false;

  constructor(
    /** A push that threw on a later turn (on the first one it throws to whoever made the change). */
    private readonly onError: (err: unknown) => void,
    private readonly slice = PUSH_SLICE,
    private readonly defer: (fn: () => void) => void = setImmediate,
  ) {}

  schedule(s: Pumpable): void {
    if (this.#head === this.#queue.length && this.#thisTurn < this.slice) {
      this.#thisTurn++;
      this.#arm();
      s.pump();
      return;
    }
    this.#queue.push(s);
    this.#arm();
  }

  #arm(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.defer(() => this.#turn());
  }

  #turn(): void {
    this.#scheduled = false;
    this.#thisTurn = 0;
    const end = Math.min(this.#queue.length, this.#head + this.slice);
    while (this.#head < end) {
      const s = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as unknown as Pumpable;
      try {
        s.pump();
      } catch (err) {
        this.onError(err);
      }
    }
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else {
      this.#thisTurn = this.slice;
      this.#arm();
    }
  }
}
