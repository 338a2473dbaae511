// A replica's view of the mesh when a datastore holds it: the latest revision, taken when LISTEN/NOTIFY says there
// is a new one and, because a notification sent while a connection was down is lost, by a poll as a safety net.
// So a replica switches within one notification round trip, and at worst within one poll interval.
import type { Clock, TimerHandle } from '../clock.js';
import type { Datastore, MeshRevision } from '../datastore/index.js';

export const DEFAULT_MESH_POLL_MS = 5_000;

export interface MeshFollowerOptions {
  readonly datastore: Datastore;
  readonly clock: Clock;
  readonly pollMs?: number;
  /** Called with each newer revision, in order of discovery; throws if this replica cannot serve it. */
  readonly onRevision: (rev: MeshRevision) => void;
  readonly onError: (message: string, rev?: number) => void;
}

export class MeshFollower {
  readonly #o: MeshFollowerOptions;
  #current = 0;
  #timer: TimerHandle | undefined;
  #unwatch: (() => void) | undefined;
  #checking: Promise<void> | undefined;
  #again = false;
  #closed = false;
  /** The last revision this replica could not serve, so that it is not retried on every poll. */
  #refused = 0;

  constructor(o: MeshFollowerOptions) {
    this.#o = o;
  }

  /** The revision in force here (0 = none yet). */
  get revision(): number {
    return this.#current;
  }

  /** Watches, then takes the latest revision; resolves when the first check is done. */
  async start(): Promise<void> {
    this.#unwatch = await this.#o.datastore.watch('mesh', () => void this.check());
    await this.check();
    this.#arm();
  }

  /** Looks for a newer revision now; concurrent calls share one look (and one more after it, if asked meanwhile). */
  check(): Promise<void> {
    if (this.#checking) {
      this.#again = true;
      return this.#checking;
    }
    this.#checking = (async () => {
      do {
        this.#again = false;
        await this.#look();
      } while (this.#again && !this.#closed);
    })().finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  async #look(): Promise<void> {
    let rev: MeshRevision | undefined;
    try {
      rev = await this.#o.datastore.meshRevision();
    } catch (err) {
      this.#o.onError(`mesh revisions cannot be read: ${(err as Error).message}; the last good revision keeps serving`);
      return;
    }
    if (!rev || rev.revision <= this.#current || rev.revision === this.#refused || this.#closed) return;
    try {
      this.#o.onRevision(rev);
      this.#current = rev.revision;
    } catch (err) {
      this.#refused = rev.revision;
      this.#o.onError(`mesh revision ${rev.revision} cannot be served here: ${(err as Error).message}; revision ${this.#current} keeps serving`, rev.revision);
    }
  }

  #arm(): void {
    if (this.#closed) return;
    this.#timer = this.#o.clock.setTimer(this.#o.pollMs ?? DEFAULT_MESH_POLL_MS, () => {
      void this.check().finally(() => this.#arm());
    });
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#unwatch?.();
  }
}
