// One replica of several `trustplane serve` processes sharing a PostgreSQL datastore: the mesh comes from the
// applied revisions (not a file), join tokens and the trust bundle are shared, and each replica publishes its
// streams' status on a heartbeat so that any replica shows every proxy; rollout steps are decided by one leader
// and served by all (replicated-rollout.ts), behind the STRICT gate over every replica's traffic evidence, which
// each replica shares with its heartbeat (global-evidence*.ts). A heartbeat is also written at once, with a NOTIFY
// the leader answers, on news the leader waits for (an ACK of a pending step, a switch), so that steps follow ACKs
// rather than the timer. Composed here so that the control plane only says "follow this" and "serve that".
import { hostname } from 'node:os';
import type { Clock } from '../clock.js';
import { openDatastore, type Datastore, type MeshRevision, type ProxyRow, type ProxyView, type ReplicaView } from '../datastore/index.js';
import { TrustplaneError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { DatastoreJoinTokens } from './datastore-join-tokens.js';
import { MeshFollower } from './mesh-follower.js';
import { applyMesh, type MeshValidator } from './mesh-revisions.js';
import { SharedBundle, type BundleSource } from './shared-bundle.js';
import { ReplicatedRollout, startingDecision, type ReplicatedRolloutHost } from './replicated-rollout.js';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_HEARTBEAT_TIMEOUT_MS, StatusHeartbeat } from './status-heartbeat.js';
import type { RolloutState } from '../rollout/index.js';
import type { GateRecord } from './replicated-gate.js';
import type { GlobalEvidence, LocalEvidence } from './global-evidence.js';
import { EvidenceSharing } from './global-evidence-sharing.js';

export interface ReplicaOptions {
  readonly url: string;
  /** Stable name of this replica (default: the host name); shown in status, owns this replica's authorities. */
  readonly id?: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly meshPollMs?: number;
  readonly heartbeatMs?: number;
  readonly heartbeatTimeoutMs?: number;
  /** The rollout lease's lifetime: how long a dead leader holds rollouts up (default: the heartbeat timeout). */
  readonly leaseTtlMs?: number;
  /** Least time between heartbeats written on news (an ACK of a pending step, a switch); default 100 ms. */
  readonly minBeatGapMs?: number;
}

/** What the control plane lets the replica do. */
export interface ReplicaHost extends Omit<ReplicatedRolloutHost, 'replicas'> {
  /** Loads a newer revision so that it can be served once the leader decides its first state; throws if it cannot. */
  loadRevision(rev: MeshRevision): void;
  /** This replica's streams now. */
  streams(): readonly ProxyRow[];
  /** Told after each refresh of the global view. */
  globalChanged?(): void;
  /** This replica's traffic evidence, shared with each heartbeat, and the view of every replica's it reads back. */
  readonly sharedEvidence?: { readonly local: LocalEvidence; readonly global: GlobalEvidence };
  /** Told when this replica's streams' ACK state changes. */
  onStatusChange?(listener: () => void): () => void;
  /** Whether a rollout step is still to come (then an ACK here is news for the leader). */
  stepPending?(): boolean;
}

export const DEFAULT_LEASE_TTL_MS = DEFAULT_HEARTBEAT_TIMEOUT_MS;

export class Replica {
  readonly id: string;
  readonly datastore: Datastore;
  readonly #o: ReplicaOptions;
  #follower: MeshFollower | undefined;
  #heartbeat: StatusHeartbeat | undefined;
  #bundle: SharedBundle | undefined;
  #global: readonly ProxyView[] = [];
  #replicas: readonly ReplicaView[] = [];
  #rollout: ReplicatedRollout | undefined;
  #offRollout: (() => void) | undefined;
  #offStatus: (() => void) | undefined;
  #offNews: (() => void) | undefined;
  #sharing: EvidenceSharing | undefined;
  #reading: Promise<void> | undefined;
  #readAgain = false;
  #datastoreOk = true;
  #closed = false;
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

  /** Where to start: the newest revision with a recorded rollout decision, and that decision (see replicated-rollout.ts). */
  async startingPoint(initial: (rev: MeshRevision) => RolloutState): Promise<{ revision: MeshRevision; decision: number; state: RolloutState; gate?: GateRecord[] }> {
    const newest = await this.datastore.meshRevision();
    if (!newest) throw new TrustplaneError('MESH_NO_REVISION', 'the datastore holds no mesh revision yet: run `trustplane apply --mesh FILE --datastore URL`');
    const start = await startingDecision({
      datastore: this.datastore,
      clock: this.#o.clock,
      replica: this.id,
      leaseTtlMs: this.#leaseTtl,
      newest: newest.revision,
      initial: () => initial(newest),
      sleep: (ms) => new Promise((ok) => this.#o.clock.setTimer(ms, ok)),
    });
    const revision = start.revision === newest.revision ? newest : await this.datastore.meshRevision(start.revision);
    if (!revision) throw new TrustplaneError('MESH_NO_REVISION', `mesh revision ${start.revision} is gone from the datastore`);
    return { revision, decision: start.decision, state: start.state, ...(start.gate ? { gate: start.gate } : {}) };
  }

  get #leaseTtl(): number {
    return this.#o.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  }

  /** Starts following revisions and decisions, publishing authorities and heartbeats. */
  async start(host: ReplicaHost): Promise<void> {
    await this.#bundle?.start();
    this.#rollout = new ReplicatedRollout({
      datastore: this.datastore,
      clock: this.#o.clock,
      replica: this.id,
      leaseTtlMs: this.#leaseTtl,
      graceMs: this.#o.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
      host: { ...bind(host), replicas: () => this.#replicas },
      onError: (m) => this.#error(m),
      onDecision: (d) => {
        this.#o.logger.info({ event: 'rollout_decision_served', ...d }, d.leader ? 'recorded a rollout decision' : 'serving a recorded rollout decision');
        // The leader's next step waits for every replica to say it switched: say so now, not at the next timer.
        if (!d.leader) this.#heartbeat?.soon();
      },
    });
    this.#offRollout = await this.datastore.watch('rollout', () => void this.#rollout?.tick());
    this.#follower = new MeshFollower({
      datastore: this.datastore,
      clock: this.#o.clock,
      ...(this.#o.meshPollMs !== undefined ? { pollMs: this.#o.meshPollMs } : {}),
      onRevision: (rev) => {
        if (rev.revision <= host.served().revision) return;
        host.loadRevision(rev);
        this.#o.logger.info({ event: 'mesh_revision_loaded', revision: rev.revision }, 'loaded a new mesh revision; it is served with the rollout decision recorded for it');
        void this.#rollout?.tick();
      },
      onError: (m) => this.#error(m),
    });
    await this.#follower.start();
    const shared = host.sharedEvidence;
    if (shared) {
      this.#sharing = new EvidenceSharing({
        datastore: this.datastore,
        clock: this.#o.clock,
        replica: this.id,
        local: shared.local,
        global: shared.global,
        // Evidence windows are minutes to hours: once per heartbeat is fresh enough, news heartbeats skip it.
        refreshMs: (this.#o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS) / 2,
        onError: (m) => this.#error(m),
      });
    }
    this.#heartbeat = new StatusHeartbeat({
      datastore: this.datastore,
      clock: this.#o.clock,
      replica: this.id,
      streams: () => host.streams(),
      info: () => ({ ...host.served(), leader: this.#rollout?.leader ?? false }),
      intervalMs: this.#o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      ...(this.#o.minBeatGapMs !== undefined ? { minGapMs: this.#o.minBeatGapMs } : {}),
      beforeBeat: async () => this.#sharing?.publish(),
      onError: (m) => this.#error(m),
      onHealth: (ok) => {
        this.#datastoreOk = ok;
        if (ok) this.#lastError = undefined;
      },
      afterBeat: () => this.#readGlobal(host),
    });
    // The leader hears another replica's news (an ACK, a switch) at once and looks again.
    this.#offNews = await this.datastore.watch('status', () => {
      if (this.leader) void this.#readGlobal(host);
    });
    // An ACK here is news for the leader only while a step is pending; soon() asks that outside the stream handler
    // the change arrived in, at most once per gap.
    const pending = (): boolean => {
      try {
        return host.stepPending?.() ?? true;
      } catch (err) {
        this.#error(`rollout status cannot be read: ${(err as Error).message}`);
        return false;
      }
    };
    this.#offStatus = host.onStatusChange?.(() => this.#heartbeat?.soon({ if: pending }));
    await this.#heartbeat.start();
  }

  /** Reads the global view (proxies, replicas, shared evidence) and lets the rollout look; concurrent calls share one read (and one more after it). */
  #readGlobal(host: ReplicaHost): Promise<void> {
    if (this.#reading) {
      this.#readAgain = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      do {
        this.#readAgain = false;
        const now = this.#o.clock.now();
        const timeout = this.#o.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
        try {
          [this.#global, this.#replicas] = await Promise.all([this.datastore.proxies(now, timeout), this.datastore.replicas(now, timeout), this.#sharing?.refresh({ prune: this.leader })]);
        } catch (err) {
          this.#error(`reading the global proxy status failed: ${(err as Error).message}`);
          return;
        }
        host.globalChanged?.();
        await this.#rollout?.tick();
      } while (this.#readAgain && !this.#closed);
    })().finally(() => (this.#reading = undefined));
    return this.#reading;
  }

  /** Writes a heartbeat now (tests and the rollout use it to publish a switch without waiting for the timer). */
  beat(): Promise<void> {
    return this.#heartbeat?.beat() ?? Promise.resolve();
  }

  get leader(): boolean {
    return this.#rollout?.leader ?? false;
  }

  /** Live replicas not yet serving the leader's latest decision (only the leader knows). */
  get waitingFor(): readonly string[] {
    return this.#rollout?.waitingFor ?? [];
  }

  /** Every live replica's proxies as of the last heartbeat. */
  get globalProxies(): readonly ProxyView[] {
    return this.#global;
  }

  get liveReplicas(): readonly ReplicaView[] {
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

  /** Stops; releaseLease false leaves the rollout lease to expire, as a killed process would (tests of handover). */
  async close(o: { releaseLease?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#follower?.close();
    this.#heartbeat?.close();
    this.#offRollout?.();
    this.#offNews?.();
    this.#offStatus?.();
    this.#sharing?.close();
    await this.#rollout?.close(o.releaseLease ?? true);
    this.#bundle?.close();
    await this.datastore.close();
  }
}

function bind(h: ReplicaHost): Omit<ReplicatedRolloutHost, 'replicas'> {
  return {
    served: () => h.served(),
    newestRevision: () => h.newestRevision(),
    proposal: (r) => h.proposal(r),
    sameAsServed: (s) => h.sameAsServed(s),
    serve: (r, d, s, g) => h.serve(r, d, s, g),
  };
}
