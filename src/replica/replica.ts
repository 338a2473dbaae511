// One replica of several `trustplane serve` processes sharing a PostgreSQL datastore: the mesh comes from the
// applied revisions (not a file), join tokens and the trust bundle are shared, and each replica publishes its
// streams' status on a heartbeat so that any replica shows every proxy. Composed here so that the control plane
// only says "follow this" and "serve that".
import { hostname } from 'node:os';
import type { Clock } from '../clock.js';
import { openDatastore, type Datastore, type MeshRevision, type ProxyRow, type ProxyView } from '../datastore/index.js';
import { TrustplaneError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { DatastoreJoinTokens } from './datastore-join-tokens.js';
import { MeshFollower } from './mesh-follower.js';
import { applyMesh, type MeshValidator } from './mesh-revisions.js';
import { SharedBundle, type BundleSource } from './shared-bundle.js';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_HEARTBEAT_TIMEOUT_MS, StatusHeartbeat } from './status-heartbeat.js';

export interface ReplicaOptions {
  readonly url: string;
  /** Stable name of this replica (default: the host name); shown in status, owns this replica's authorities. */
  readonly id?: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly meshPollMs?: number;
  readonly heartbeatMs?: number;
  readonly heartbeatTimeoutMs?: number;
}

/** What the control plane lets the replica do. */
export interface ReplicaHost {
  /** Serves a revision whole or throws (then the last good one keeps serving). */
  applyRevision(rev: MeshRevision): void;
  /** This replica's streams now. */
  streams(): readonly ProxyRow[];
  /** Told after each refresh of the global view (the rollout re-evaluates). */
  globalChanged?(): void;
}

export class Replica {
  readonly id: string;
  readonly datastore: Datastore;
  readonly #o: ReplicaOptions;
  #follower: MeshFollower | undefined;
  #heartbeat: StatusHeartbeat | undefined;
  #bundle: SharedBundle | undefined;
  #global: readonly ProxyView[] = [];
  #replicas: readonly string[] = [];
  #datastoreOk = true;
  #lastError: string | undefined;

  private constructor(o: ReplicaOptions, ds: Datastore) {
    this.#o = o;
    this.datastore = ds;
    this.id = o.id ?? hostname();
  }

  static async open(o: ReplicaOptions): Promise<Replica> {
    if (o.id !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(o.id)) {
      throw new TrustplaneError('REPLICA_ID_INVALID', `--replica-id "${o.id.slice(0, 80)}" is not 1-64 letters, digits, '.', '_' or '-'`);
    }
    const ds = await openDatastore({ url: o.url, dataDir: '', onError: (m) => o.logger.warn({ event: 'datastore_error' }, m) });
    return new Replica(o, ds);
  }

  /**
   * The revision to start with: the latest applied. When none has been applied yet and a description file is
   * given, it is validated and applied as the first revision, so that a new deployment starts with one command.
   */
  async firstRevision(meshFile: string | undefined, readFile: (f: string) => string, validate: MeshValidator): Promise<MeshRevision> {
    const latest = await this.datastore.meshRevision();
    if (latest) return latest;
    if (!meshFile) throw new TrustplaneError('MESH_NO_REVISION', 'the datastore holds no mesh revision yet: run `trustplane apply --mesh FILE --datastore URL`');
    const r = await applyMesh(this.datastore, { source: readFile(meshFile), name: meshFile, appliedBy: `replica ${this.id}`, now: this.#o.clock.now(), validate });
    this.#o.logger.info({ event: 'mesh_revision_bootstrapped', revision: r.revision.revision, file: meshFile }, 'no mesh revision in the datastore: applied the description file as the first one');
    return r.revision;
  }

  /** The trust bundle every replica serves: this replica's CA's plus the others' published authorities. */
  sharedBundle(local: BundleSource): SharedBundle {
    this.#bundle ??= new SharedBundle({ local, datastore: this.datastore, clock: this.#o.clock, replica: this.id, onError: (m) => this.#error(m) });
    return this.#bundle;
  }

  joinTokens(): DatastoreJoinTokens {
    return new DatastoreJoinTokens(this.datastore, this.#o.clock);
  }

  /** Starts following revisions (from `current` on), publishing authorities and heartbeats. */
  async start(host: ReplicaHost, current: number): Promise<void> {
    await this.#bundle?.start();
    this.#follower = new MeshFollower({
      datastore: this.datastore,
      clock: this.#o.clock,
      ...(this.#o.meshPollMs !== undefined ? { pollMs: this.#o.meshPollMs } : {}),
      onRevision: (rev) => {
        if (rev.revision <= current) return;
        host.applyRevision(rev);
        this.#o.logger.info({ event: 'mesh_revision_applied', revision: rev.revision }, 'switched to a new mesh revision');
      },
      onError: (m) => this.#error(m),
    });
    await this.#follower.start();
    this.#heartbeat = new StatusHeartbeat({
      datastore: this.datastore,
      clock: this.#o.clock,
      replica: this.id,
      streams: () => host.streams(),
      intervalMs: this.#o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      onError: (m) => this.#error(m),
      onHealth: (ok) => {
        this.#datastoreOk = ok;
        if (ok) this.#lastError = undefined;
      },
      afterBeat: async () => {
        const now = this.#o.clock.now();
        const timeout = this.#o.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
        try {
          [this.#global, this.#replicas] = await Promise.all([this.datastore.proxies(now, timeout), this.datastore.liveReplicas(now, timeout)]);
        } catch (err) {
          this.#error(`reading the global proxy status failed: ${(err as Error).message}`);
          return;
        }
        host.globalChanged?.();
      },
    });
    await this.#heartbeat.start();
  }

  /** Every live replica's proxies as of the last heartbeat. */
  get globalProxies(): readonly ProxyView[] {
    return this.#global;
  }

  get liveReplicas(): readonly string[] {
    return this.#replicas;
  }

  get revision(): number {
    return this.#follower?.revision ?? 0;
  }

  /** Degraded while the datastore cannot be written: this replica keeps serving its last good state. */
  health(): { ok: boolean; reason?: string } {
    return this.#datastoreOk ? { ok: true } : { ok: false, reason: `datastore unavailable: ${this.#lastError ?? 'unknown error'}` };
  }

  #error(message: string): void {
    this.#lastError = message;
    this.#o.logger.warn({ event: 'replica_degraded', replica: this.id }, message);
  }

  async close(): Promise<void> {
    this.#follower?.close();
    this.#heartbeat?.close();
    this.#bundle?.close();
    await this.datastore.close();
  }
}
