// Live updates for the dashboard over server-sent events. Changes (an ACK, a batch of access-log entries, a renewed
// SVID) can arrive thousands of times a second; the feed coalesces them: the document is built at most once per
// interval, once for every client, and a client whose socket is still busy with the previous document gets only
// the latest one when it drains. A large mesh makes a large document: the interval stretches to 20 times what the
// last build cost, so live pages never take more than about 5% of the event loop from the xDS server. The number of
// clients is bounded, so the page cannot be used to hold the server's memory or sockets.
import { performance } from 'node:perf_hooks';
import type { ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../clock.js';

export interface LiveFeedOptions {
  /** The document to send, serialised once per update (JSON on one line). */
  readonly build: () => string;
  /** Paces the updates; the host's clock in `serve`, a manual one in tests. */
  readonly timer: Clock;
  /** At most this many open event streams; the next one is refused. */
  readonly maxClients?: number;
  /** At most one update per this many ms, however many changes arrive. */
  readonly minIntervalMs?: number;
  /** An update is sent at least this often while clients are connected (relative times, expiry highlights). */
  readonly refreshMs?: number;
  /** The interval is at least this many times what the last build cost (real time). */
  readonly costFactor?: number;
}

export const DEFAULT_MAX_CLIENTS = 16;
export const DEFAULT_MIN_INTERVAL_MS = 500;
export const DEFAULT_REFRESH_MS = 15_000;
export const DEFAULT_COST_FACTOR = 20;

interface Client {
  readonly res: ServerResponse;
  /** The socket has not taken the last write yet: hold further updates until 'drain'. */
  blocked: boolean;
  /** An update arrived while blocked: send the latest on 'drain'. */
  missed: boolean;
}

export class LiveFeed {
  readonly #opts: Required<LiveFeedOptions>;
  readonly #clients = new Set<Client>();
  #timer: TimerHandle | undefined;
  #refresh: TimerHandle | undefined;
  #lastSent = -Infinity;
  #sequence = 0;
  #latest: string | undefined;
  /** What building and serialising the last document took, in ms of real time. */
  #cost = 0;
  #closed = false;

  constructor(opts: LiveFeedOptions) {
    this.#opts = {
      maxClients: DEFAULT_MAX_CLIENTS,
      minIntervalMs: DEFAULT_MIN_INTERVAL_MS,
      refreshMs: DEFAULT_REFRESH_MS,
      costFactor: DEFAULT_COST_FACTOR,
      ...opts,
    };
  }

  get clients(): number {
    return this.#clients.size;
  }

  get maxClients(): number {
    return this.#opts.maxClients;
  }

  /** How many documents were built so far (each sent to every client). */
  get updates(): number {
    return this.#sequence;
  }

  /**
   * Takes an event stream: false (and nothing written) when the feed is full or closed, so the caller can refuse.
   * The stream gets the current document at once, then every coalesced update.
   */
  attach(res: ServerResponse): boolean {
    if (this.#closed || this.#clients.size >= this.#opts.maxClients) return false;
    const client: Client = { res, blocked: false, missed: false };
    this.#clients.add(client);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    // The browser reconnects after 2 s if the stream drops (a restart of the server, say).
    res.write('retry: 2000\n\n');
    const detach = (): void => {
      this.#clients.delete(client);
      if (this.#clients.size === 0) this.#stopRefresh();
    };
    res.on('close', detach);
    res.on('drain', () => {
      client.blocked = false;
      if (client.missed && this.#latest !== undefined) {
        client.missed = false;
        this.#write(client, this.#latest);
      }
    });
    this.#write(client, this.#event(this.#build()));
    this.#armRefresh();
    return true;
  }

  /** Something the document shows changed: an update goes out within minIntervalMs, once for any number of calls. */
  changed(): void {
    if (this.#closed || this.#clients.size === 0 || this.#timer) return;
    const interval = Math.max(this.#opts.minIntervalMs, this.#opts.costFactor * this.#cost);
    const wait = Math.max(0, this.#lastSent + interval - this.#opts.timer.now());
    this.#timer = this.#opts.timer.setTimer(wait, () => {
      this.#timer = undefined;
      this.#broadcast();
    });
  }

  /** Ends every event stream (the browser will try to reconnect) and takes no more. */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#stopRefresh();
    for (const c of [...this.#clients]) c.res.end();
    this.#clients.clear();
  }

  #broadcast(): void {
    if (this.#clients.size === 0) return;
    const event = this.#event(this.#build());
    for (const c of this.#clients) {
      if (c.blocked) c.missed = true;
      else this.#write(c, event);
    }
  }

  #build(): string {
    const t0 = performance.now();
    const json = this.#opts.build();
    this.#cost = performance.now() - t0;
    return json;
  }

  #event(json: string): string {
    this.#lastSent = this.#opts.timer.now();
    this.#latest = `id: ${++this.#sequence}\nevent: dashboard\ndata: ${json}\n\n`;
    return this.#latest;
  }

  #write(c: Client, event: string): void {
    if (!c.res.write(event)) c.blocked = true;
  }

  #armRefresh(): void {
    if (this.#refresh || this.#closed) return;
    const tick = (): void => {
      this.#refresh = this.#opts.timer.setTimer(this.#opts.refreshMs, () => {
        this.#refresh = undefined;
        if (this.#clients.size === 0 || this.#closed) return;
        this.changed();
        tick();
      });
    };
    tick();
  }

  #stopRefresh(): void {
    this.#refresh?.cancel();
    this.#refresh = undefined;
  }
}
