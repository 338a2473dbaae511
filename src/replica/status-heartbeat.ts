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

export interface StatusHeartbeatOptions {
  readonly datastore: Datastore;
  readonly clock: Clock;
  readonly replica: string;
  /** This replica's streams now, each with a stable id and its status document. */
  readonly streams: () => readonly ProxyRow[];
  /** What this replica says of itself with each beat (read at the same moment as the streams). */
  readonly info?: () => Readonly<Record<string, unknown>>;
  readonly intervalMs?: number;
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

  constructor(o: StatusHeartbeatOptions) {
    this.#o = o;
  }

  async start(): Promise<void> {
    await this.beat();
    this.#arm();
  }

  /** Writes this replica's rows now. */
  async beat(): Promise<void> {
    const rows = this.#o.streams().slice(0, MAX_REPORTED_STREAMS);
    const info = this.#o.info?.() ?? {};
    try {
      await this.#o.datastore.heartbeat(this.#o.replica, this.#o.clock.now(), rows, info);
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
  }
}
