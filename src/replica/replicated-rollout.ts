// Rollouts across replicas: one leader decides, every replica serves what was decided.
//
// Why a leader and not every replica deciding from the same global view: the view is read at different moments on
// different replicas, so independent deciders would serve different modes for the same revision for a while, and a
// proxy moving between them would see its configuration go back and forth. Here the steps are decisions recorded
// in the datastore under a fenced lease (Datastore.recordRolloutDecision); every replica, the leader included,
// serves the latest decision of the newest revision it can serve, and nothing else. So for one (revision,
// decision) every replica holds the same effective model, hence byte-identical resources and identical versions.
//
// When the leader may take a step (the rules themselves are state-machine.ts's, asked through the controller's
// proposal()):
//   1. it serves the latest decision itself, and every live replica's last heartbeat says it serves that same
//      (revision, decision) — a replica's heartbeat is written after it switched, so every stream it reports has
//      been offered that decision and every stream opened after the beat receives it whole on connect;
//   2. the controller's proposal, read over the global proxy view (every live replica's streams) for the description
//      as the STRICT gate over every replica's evidence lets it through (replicated-gate.ts), differs — in modes, or
//      in the gate's word on a port, which is recorded with the decision so that every replica shows it.
// A replica that stops heartbeating holds a step back until the heartbeat timeout drops it; then, and whenever the
// lease changes hands, the leader waits one more grace period (the heartbeat timeout) before any step, so that the
// proxies of a replica that left reconnect elsewhere and are counted there, and a replica that was only slow comes
// back into the view. A proxy that reconnects nowhere counts as disconnected, as on one machine (state-machine.ts:
// a proxy that connects later receives the effective configuration whole). A leader that dies leaves
// the lease to expire; whoever takes it next serves the recorded decisions like everyone and continues from the
// latest one: no step is repeated (it starts from what was recorded) or skipped (one step per decision, each
// gated as above). A leader that lost its lease without knowing is refused by the fencing token.
import type { Clock } from '../clock.js';
import { DatastoreError, type Datastore, type Lease, type ReplicaView } from '../datastore/index.js';
import type { Mode } from '../mesh/model.js';
import type { EdgeInForce, PortInForce, RolloutState, Transport } from '../rollout/index.js';
import { TrustplaneError } from '../errors.js';
import { decodeGate, encodeGate, type GateRecord } from './replicated-gate.js';

export const ROLLOUT_LEASE = 'rollout';

/** What one replica serves: a mesh revision and the rollout decision in force for it (0 = none yet). */
export interface Served {
  readonly revision: number;
  readonly decision: number;
}

/** What the leader would record next: the rollout state and the STRICT gate's word per port asked STRICT. */
export interface Proposal {
  readonly state: RolloutState;
  readonly gate?: readonly GateRecord[];
}

export interface ReplicatedRolloutHost {
  served(): Served;
  /** The newest revision this replica has loaded and can serve (it may not be served yet: no decision). */
  newestRevision(): number;
  /** What the rules allow next for that revision, from the state served, the global proxy view and the STRICT gate. */
  proposal(revision: number): Proposal;
  /** Whether recording `p` would change nothing that is served (the state, and the gate's word per port). */
  sameAsServed(p: Proposal): boolean;
  /** Serves decision `decision` of `revision` (with the gate recorded with it); throws if it cannot (then nothing changed). */
  serve(revision: number, decision: number, state: RolloutState, gate?: readonly GateRecord[]): void;
  /** The live replicas as of the latest read of the global view. */
  replicas(): readonly ReplicaView[];
}

export interface ReplicatedRolloutOptions {
  readonly datastore: Datastore;
  readonly clock: Clock;
  readonly replica: string;
  readonly leaseTtlMs: number;
  /** How long the leader holds steps after a replica left the view or the lease changed hands. */
  readonly graceMs: number;
  readonly host: ReplicatedRolloutHost;
  readonly onError: (message: string) => void;
  readonly onDecision?: (d: { revision: number; decision: number; leader: boolean }) => void;
}

export function encodeState(state: RolloutState): Record<string, unknown> {
  return {
    ports: [...state.ports].sort(([a], [b]) => a.localeCompare(b)).map(([k, p]) => [k, p.mode, p.previous ?? null]),
    edges: [...state.edges].sort(([a], [b]) => a.localeCompare(b)).map(([k, e]) => [k, e.transport, e.server, e.port]),
  };
}

const MODES: readonly Mode[] = ['DISABLE', 'PERMISSIVE', 'STRICT'];
const TRANSPORTS: readonly Transport[] = ['mtls', 'plaintext'];

export function decodeState(doc: Readonly<Record<string, unknown>>): RolloutState {
  const bad = (): never => {
    throw new TrustplaneError('ROLLOUT_DECISION_INVALID', 'a recorded rollout decision is not a rollout state; written by a newer or broken replica?');
  };
  const ports = new Map<string, PortInForce>();
  const edges = new Map<string, EdgeInForce>();
  if (!Array.isArray(doc['ports']) || !Array.isArray(doc['edges'])) bad();
  for (const p of doc['ports'] as unknown[]) {
    if (!Array.isArray(p) || typeof p[0] !== 'string' || !MODES.includes(p[1] as Mode) || (p[2] !== null && !MODES.includes(p[2] as Mode))) bad();
    const [k, mode, previous] = p as [string, Mode, Mode | null];
    ports.set(k, previous === null ? { mode } : { mode, previous });
  }
  for (const e of doc['edges'] as unknown[]) {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || !TRANSPORTS.includes(e[1] as Transport) || typeof e[2] !== 'string' || typeof e[3] !== 'number') bad();
    const [k, transport, server, port] = e as [string, Transport, string, number];
    edges.set(k, { transport, server, port });
  }
  return { ports, edges };
}

export class ReplicatedRollout {
  readonly #o: ReplicatedRolloutOptions;
  #lease: Lease | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  #waitingFor: readonly string[] = [];
  #members: ReadonlySet<string> = new Set();
  #graceUntil = 0;

  constructor(o: ReplicatedRolloutOptions) {
    this.#o = o;
  }

  /** Whether this replica held the lease at its last look. */
  get leader(): boolean {
    return this.#lease !== undefined;
  }

  /** Live replicas the leader waits for (not yet serving the latest decision), as of its last look. */
  get waitingFor(): readonly string[] {
    return this.#waitingFor;
  }

  /** Follows the recorded decisions, then leads if it may; concurrent calls share one run (and one more after it). */
  tick(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#follow();
        await this.#lead();
      } while (this.#again && !this.#closed);
    })().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /**
   * Serves the latest decision of the newest loaded revision, if it is not served yet; while that revision has none
   * (the leader has not decided it, or cannot serve it), the latest decision of the revision served.
   */
  async #follow(): Promise<void> {
    const h = this.#o.host;
    let revision = h.newestRevision();
    if (revision === 0) return;
    const served = h.served();
    let latest;
    try {
      latest = (await this.#o.datastore.rolloutDecisions(revision)).at(-1);
      if (!latest && served.revision !== revision && served.revision !== 0) {
        revision = served.revision;
        latest = (await this.#o.datastore.rolloutDecisions(revision)).at(-1);
      }
    } catch (err) {
      this.#o.onError(`rollout decisions cannot be read: ${(err as Error).message}; the decision in force keeps serving`);
      return;
    }
    if (!latest || (served.revision === revision && served.decision >= latest.seq)) return;
    try {
      const gate = decodeGate(latest.decision);
      h.serve(revision, latest.seq, decodeState(latest.decision), ...(gate ? [gate] : []));
      this.#o.onDecision?.({ revision, decision: latest.seq, leader: false });
    } catch (err) {
      this.#o.onError(`rollout decision ${latest.seq} of revision ${revision} cannot be served here: ${(err as Error).message}; the decision in force keeps serving`);
    }
  }

  async #lead(): Promise<void> {
    if (this.#closed) return;
    const { datastore, clock, replica, leaseTtlMs, host } = this.#o;
    try {
      const had = this.#lease;
      const r = await datastore.acquireLease(ROLLOUT_LEASE, replica, leaseTtlMs, clock.now());
      this.#lease = r.held ? r.lease : undefined;
      // Taken over from another leader (not the very first lease of a new deployment): its replica just left.
      if (this.#lease && this.#lease.fencingToken !== had?.fencingToken && this.#lease.fencingToken > 1) this.#graceUntil = clock.now() + this.#o.graceMs;
    } catch (err) {
      this.#lease = undefined;
      this.#o.onError(`the rollout lease cannot be taken or renewed: ${(err as Error).message}`);
      return;
    }
    if (!this.#lease) {
      this.#waitingFor = [];
      return;
    }
    const served = host.served();
    const revision = host.newestRevision();
    if (revision === 0) return;
    const members = new Set(host.replicas().map((v) => v.replica));
    if ([...this.#members].some((m) => !members.has(m))) this.#graceUntil = clock.now() + this.#o.graceMs;
    this.#members = members;
    if (clock.now() < this.#graceUntil) {
      this.#waitingFor = [`grace after a change of replicas or leader, until ${new Date(this.#graceUntil).toISOString()}`];
      return;
    }
    // Gate 1: everyone alive serves what this replica serves.
    const behind = host
      .replicas()
      .filter((v) => v.info['revision'] !== served.revision || v.info['decision'] !== served.decision)
      .map((v) => v.replica);
    const self = host.replicas().some((v) => v.replica === replica);
    this.#waitingFor = self ? behind : [replica, ...behind];
    if (!self || behind.length) return;
    let next: Proposal;
    try {
      next = host.proposal(revision);
    } catch (err) {
      this.#o.onError(`no rollout step can be worked out for revision ${revision}: ${(err as Error).message}`);
      return;
    }
    // Gate 2: a new revision always gets its first decision; otherwise only a change (of modes, or of the STRICT
    // gate's word on a port) is a step.
    if (served.revision === revision && host.sameAsServed(next)) return;
    try {
      const d = await datastore.recordRolloutDecision(this.#lease, clock.now(), revision, { ...encodeState(next.state), ...(next.gate ? { gate: encodeGate(next.gate) } : {}) });
      this.#o.onDecision?.({ revision, decision: d.seq, leader: true });
    } catch (err) {
      if (err instanceof DatastoreError && err.code === 'DATASTORE_FENCED') this.#lease = undefined;
      this.#o.onError(`rollout decision for revision ${revision} not recorded: ${(err as Error).message}`);
      return;
    }
    // Serve it at once like every other replica does on the notification.
    this.#again = true;
  }

  async close(releaseLease = true): Promise<void> {
    this.#closed = true;
    await this.#running?.catch(() => {});
    if (this.#lease && releaseLease) await this.#o.datastore.releaseLease(ROLLOUT_LEASE, this.#o.replica).catch(() => {});
    this.#lease = undefined;
  }
}

/**
 * Where a replica starts: the newest revision that has a decision, and its latest decision. With none at all (a new
 * deployment), the first state of the newest revision is recorded under the lease by whichever replica takes it;
 * the others wait for it (bounded).
 */
export async function startingDecision(o: {
  datastore: Datastore;
  clock: Clock;
  replica: string;
  leaseTtlMs: number;
  newest: number;
  initial: () => RolloutState;
  sleep: (ms: number) => Promise<void>;
}): Promise<{ revision: number; decision: number; state: RolloutState; gate?: GateRecord[] }> {
  const deadline = o.clock.now() + 3 * o.leaseTtlMs;
  for (;;) {
    for (let rev = o.newest; rev >= 1 && rev > o.newest - 1000; rev--) {
      const last = (await o.datastore.rolloutDecisions(rev)).at(-1);
      if (last) {
        const gate = decodeGate(last.decision);
        return { revision: rev, decision: last.seq, state: decodeState(last.decision), ...(gate ? { gate } : {}) };
      }
    }
    const lease = await o.datastore.acquireLease(ROLLOUT_LEASE, o.replica, o.leaseTtlMs, o.clock.now());
    if (lease.held) {
      const state = o.initial();
      const d = await o.datastore.recordRolloutDecision(lease.lease, o.clock.now(), o.newest, encodeState(state));
      return { revision: o.newest, decision: d.seq, state };
    }
    if (o.clock.now() > deadline) {
      throw new TrustplaneError('ROLLOUT_NO_DECISION', `no rollout decision was recorded for mesh revision ${o.newest}, and replica ${lease.lease.holder} holds the rollout lease; is it stuck?`);
    }
    await o.sleep(100);
  }
}
