// Each replica writes its streams' sync state to the datastore on a heartbeat; any replica's `status` reads every
// live replica's rows. A replica that stops heartbeating (killed, partitioned) drops out of the view after the
// timeout, and its proxies with it: they are reconnecting elsewhere and will appear under their new replica.
import type { Clock, TimerHandle } from '../clock.js';
import type { Datastore, ProxyRow } from '../datastore/index.js';

export const DEFAULT_HEARTBEAT_MS = 2_000;
/** Three missed heartbeats and a little: one slow write does not make a replica look dead. */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 7_000;
/** A replica reports at most this many streams per heartbeat (the status page's own bound). */
export const MAX_REPORTED_STREAMS = 20_000;
/** Heartbeats written on news (an ACK, a switch) are at least this far apart: a bound on the write rate. */
export const DEFAULT_MIN_BEAT_GAP_MS = 100;

export interface StatusHeartbeatOptions {
  readonly datastore: Datastore;
  readonly clock: Clock;
  readonly replica: string;
  /** This replica's streams now, each with a stable id and its status document. */
  readonly streams: () => readonly ProxyRow[];
  /** What this replica says of itself with each beat (read at the same moment as the streams). */
  readonly info?: () => Readonly<Record<string, unknown>>;
  readonly intervalMs?: number;
  /** Least time between two heartbeats written on news (soon()); default DEFAULT_MIN_BEAT_GAP_MS. */
  readonly minGapMs?: number;
  /** Runs before each write (the replica shares its traffic evidence then). */
  readonly beforeBeat?: () => Promise<void>;
  readonly onError: (message: string) => void;
  /** Told whether the last write reached the datastore (readiness reports a degraded datastore). */
  readonly onHealth?: (ok: boolean) => void;
  /** Runs after each successful write (the replica reads the global view then). */
  readonly afterBeat?: () => Promise<void>;
}

export class StatusHeartbeat {
  readonly #o: StatusHeartbeatOptions;
  #timer: TimerHandle | undefined;
  #closed = false;
  #lastOk: boolean | undefined;
  /** One write at a time: two overlapping writes of the same rows would conflict in the database. */
  #running: Promise<void> | undefined;
  #again: { notify: boolean } | undefined;
  #lastBeatAt = -Infinity;
  #lastLookAt = -Infinity;
  #soon: { timer?: TimerHandle } | undefined;

  constructor(o: StatusHeartbeatOptions) {
    this.#o = o;
  }

  async start(): Promise<void> {
    await this.beat();
    this.#arm();
  }

  /**
   * Writes this replica's rows now (after the one being written, if any); notify tells every replica at once (the
   * leader is waiting for this news).
   */
  beat(o: { notify?: boolean } = {}): Promise<void> {
    if (this.#running) {
      this.#again = { notify: (this.#again?.notify ?? false) || (o.notify ?? false) };
      return this.#running;
    }
    this.#running = (async () => {
      let next: { notify: boolean } | undefined = { notify: o.notify ?? false };
      while (next && !this.#closed) {
        this.#again = undefined;
        await this.#write(next.notify);
        next = this.#again;
      }
    })().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /**
   * A heartbeat with notify as soon as the rate bound allows: for news the leader waits for (ACKs of a step, a
   * switch to a new decision), if `if` still says so then. Calls while one is due share it; the timer stays the
   * safety net.
   */
  soon(o: { if?: () => boolean } = {}): void {
    if (this.#soon || this.#closed) return;
    const wait = Math.max(this.#lastBeatAt, this.#lastLookAt) + (this.#o.minGapMs ?? DEFAULT_MIN_BEAT_GAP_MS) - this.#o.clock.now();
    const go = (): void => {
      this.#soon = undefined;
      // The condition is asked at most once per gap too: it may cost (the rollout status of every proxy).
      this.#lastLookAt = this.#o.clock.now();
      if (this.#closed || (o.if && !o.if())) return;
      void this.beat({ notify: true });
    };
    this.#soon = {};
    if (wait <= 0) setImmediate(go);
    else this.#soon.timer = this.#o.clock.setTimer(wait, go);
  }

  async #write(notify: boolean): Promise<void> {
    await this.#o.beforeBeat?.();
    const rows = this.#o.streams().slice(0, MAX_REPORTED_STREAMS);
    const info = this.#o.info?.() ?? {};
    this.#lastBeatAt = this.#o.clock.now();
    try {
      await this.#o.datastore.heartbeat(this.#o.replica, this.#o.clock.now(), rows, info, { notify });
      this.#health(true);
    } catch (err) {
      this.#health(false);
      this.#o.onError(`proxy status heartbeat failed: ${(err as Error).message}; retrying`);
      return;
    }
    await this.#o.afterBeat?.();
  }

  #health(ok: boolean): void {
    if (ok !== this.#lastOk) this.#o.onHealth?.(ok);
    this.#lastOk = ok;
  }

  #arm(): void {
    if (this.#closed) return;
    this.#timer = this.#o.clock.setTimer(this.#o.intervalMs ?? DEFAULT_HEARTBEAT_MS, () => void this.beat().finally(() => this.#arm()));
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#soon?.timer?.cancel();
  }
}
