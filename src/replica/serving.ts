// What a replica serves, and what it may serve next: the (revision, decision) in force and the newest revision
// loaded but not yet decided. The control plane gives it the rollout controller (which it drives in imposed mode:
// steps come only from recorded decisions) and a function that swaps a description and a rollout state in whole.
import type { MeshRevision, ProxyRow, ProxyView } from '../datastore/index.js';
import type { LoadedMesh } from '../control-plane/mesh-loader.js';
import { advance, sameState, type RolloutState, type Settled } from '../rollout/state-machine.js';
import { planRollout } from '../rollout/plan.js';
import type { RolloutController } from '../rollout/index.js';
import type { ProxyStatus, ProxyStatusSnapshot } from '../xds/status/proxy-status.js';
import type { Clock } from '../clock.js';
import { GlobalEvidence, type LocalEvidence } from './global-evidence.js';
import type { ReplicaHost } from './replica.js';
import type { Proposal, Served } from './replicated-rollout.js';
import { decorateReplicated, gateRecords, replicatedGate, sameGate, type GateRecord } from './replicated-gate.js';

export interface ReplicaServingOptions {
  readonly rollout: RolloutController;
  /** Parses and checks a revision for this replica (throws MeshLoadError and the like). */
  readonly load: (rev: MeshRevision) => LoadedMesh;
  /** Serves a description with a rollout state imposed on it, whole or not at all. */
  readonly apply: (mesh: LoadedMesh, revision: number, state: RolloutState) => void;
  /** This replica's own streams. */
  readonly status: () => ProxyStatusSnapshot;
  /** This replica's own traffic evidence (its access-log receiver's). */
  readonly local: LocalEvidence;
  readonly clock: Clock;
  readonly maxSourcesPerPort?: number;
  /** Told when this replica's streams' ACK state changes. */
  readonly statusChanges?: (listener: () => void) => () => void;
  readonly start: { readonly revision: number; readonly decision: number; readonly mesh: LoadedMesh; readonly gate?: readonly GateRecord[] };
}

const ALL_SETTLED: Settled = { port: () => true, edge: () => true };

export class ReplicaServing implements ReplicaHost {
  readonly #o: ReplicaServingOptions;
  #served: Served;
  /** The STRICT gate's word recorded with the decision served. */
  #gate: readonly GateRecord[] | undefined;
  #current: LoadedMesh;
  /** Every replica's traffic evidence (global-evidence.ts): what the STRICT gate reads when this replica leads. */
  readonly evidence: GlobalEvidence;
  #pending: { revision: number; mesh: LoadedMesh } | undefined;

  constructor(o: ReplicaServingOptions) {
    this.#o = o;
    this.#served = { revision: o.start.revision, decision: o.start.decision };
    this.#current = o.start.mesh;
    this.#gate = o.start.gate;
    this.evidence = new GlobalEvidence({ clock: o.clock, local: o.local, ...(o.maxSourcesPerPort ? { maxSourcesPerPort: o.maxSourcesPerPort } : {}) });
  }

  /** The STRICT gate's word recorded with the decision served (undefined: none recorded). */
  get gate(): readonly GateRecord[] | undefined {
    return this.#gate;
  }

  served(): Served {
    return this.#served;
  }

  newestRevision(): number {
    return this.#pending?.revision ?? this.#served.revision;
  }

  loadRevision(rev: MeshRevision): void {
    if (rev.revision <= this.newestRevision()) return;
    this.#pending = { revision: rev.revision, mesh: this.#o.load(rev) };
  }

  #mesh(revision: number): LoadedMesh {
    if (revision === this.#served.revision) return this.#current;
    if (this.#pending?.revision === revision) return this.#pending.mesh;
    throw new Error(`mesh revision ${revision} is not loaded here (serving ${this.#served.revision}, loaded ${this.newestRevision()})`);
  }

  /** The gate over every replica's evidence hands the rules the description with unready ports held back. */
  proposal(revision: number): Proposal {
    const gated = replicatedGate(this.evidence, this.#mesh(revision).model, this.#gate, this.#o.rollout.state());
    return { state: this.#o.rollout.proposal(gated.model), gate: gateRecords(gated.decisions) };
  }

  sameAsServed(p: Proposal): boolean {
    return sameState(p.state, this.#o.rollout.state()) && sameGate(p.gate, this.#gate);
  }

  serve(revision: number, decision: number, state: RolloutState, gate?: readonly GateRecord[]): void {
    const mesh = this.#mesh(revision);
    this.#o.apply(mesh, revision, state);
    this.#served = { revision, decision };
    this.#gate = gate;
    this.#current = mesh;
    if (this.#pending && this.#pending.revision <= revision) this.#pending = undefined;
  }

  /** Rollout status with the recorded gate's word, the reasons of held ports from the shared evidence. */
  rolloutStatus(): ReturnType<typeof decorateReplicated> {
    return decorateReplicated(this.#o.rollout.rolloutStatus(), this.#gate, this.evidence);
  }

  get sharedEvidence(): { readonly local: LocalEvidence; readonly global: GlobalEvidence } {
    return { local: this.#o.local, global: this.evidence };
  }

  onStatusChange(listener: () => void): () => void {
    return this.#o.statusChanges?.(listener) ?? (() => {});
  }

  /**
   * Whether a step is still to come: then an ACK here is news for the leader (the status heartbeat is written at
   * once). The rules asked with every proxy settled: a state they would not move from has no step left. Pure and
   * per port, never per proxy: it is asked on every burst of ACKs.
   */
  stepPending(): boolean {
    const state = this.#o.rollout.state();
    return !sameState(advance(planRollout(this.#current.model), state, ALL_SETTLED), state);
  }

  streams(): readonly ProxyRow[] {
    return this.#o.status().proxies.map((p) => ({ streamId: p.streamId, doc: p as unknown as Record<string, unknown> }));
  }
}

/** A proxy of the global view: its status as its replica reported it, with the replica's name. */
export type GlobalProxyStatus = ProxyStatus & { readonly replica: string };

/**
 * The global view as a proxy-status snapshot: what the rollout controller counts ACKs over and what /status shows.
 * Stream ids are made unique across replicas by prefixing the replica.
 */
export function globalSnapshot(views: readonly ProxyView[], now: number): ProxyStatusSnapshot & { proxies: readonly GlobalProxyStatus[] } {
  return {
    generatedAt: new Date(now).toISOString(),
    proxies: views.map((v) => ({ ...(v.doc as unknown as ProxyStatus), streamId: `${v.replica}/${v.streamId}`, replica: v.replica })),
  };
}
