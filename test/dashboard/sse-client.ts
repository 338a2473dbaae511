// A server-sent events reader over a real HTTP connection, as a browser's EventSource reads the stream: it parses
// `id:`, `event:` and `data:` lines and queues each event, so tests wait on actual events.
import { request, type IncomingMessage } from 'node:http';

export interface SseEvent {
  readonly id?: string;
  readonly event: string;
  readonly data: string;
}

/** A guard against hanging, not a stand-in for an event. */
const GUARD_MS = 10_000;

export class SseClient {
  readonly events: SseEvent[] = [];
  readonly #waiters: (() => void)[] = [];
  #buffer = '';
  #ended = false;
  res!: IncomingMessage;

  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        c.res = res;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => c.#take(chunk));
        res.on('end', () => {
          c.#ended = true;
          c.#wake();
        });
        resolve(c);
      });
      req.on('error', reject);
      req.end();
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Waits until `pred` holds for the events received so far (checked on every event). */
  async until(pred: (events: readonly SseEvent[]) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + GUARD_MS;
    while (!pred(this.events)) {
      if (this.#ended) throw new Error(`stream ended before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${GUARD_MS} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves when the server ends the stream. */
  async end(): Promise<void> {
    while (!this.#ended) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  close(): void {
    this.res.destroy();
  }

  #take(chunk: string): void {
    this.#buffer += chunk;
    let at: number;
    while ((at = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, at);
      this.#buffer = this.#buffer.slice(at + 2);
      let id: string | undefined;
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        const m = /^(\w+): ?(.*)$/.exec(line);
        if (!m) continue;
        if (m[1] === 'id') id = m[2];
        else if (m[1] === 'event') event = m[2]!;
        else if (m[1] === 'data') data.push(m[2]!);
      }
      if (data.length) this.events.push({ ...(id !== undefined ? { id } : {}), event, data: data.join('\n') });
    }
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}
