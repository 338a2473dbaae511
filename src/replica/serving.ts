// What a replica serves, and what it may serve next: the (revision, decision) in force and the newest revision
// loaded but not yet decided. The control plane gives it the rollout controller (which it drives in imposed mode:
// steps come only from recorded decisions) and a function that swaps a description and a rollout state in whole.
import type { MeshRevision, ProxyRow, ProxyView } from '../datastore/index.js';
import type { LoadedMesh } from '../control-plane/mesh-loader.js';
import { sameState, type RolloutState } from '../rollout/state-machine.js';
import type { RolloutController } from '../rollout/index.js';
import type { ProxyStatus, ProxyStatusSnapshot } from '../xds/status/proxy-status.js';
import type { ReplicaHost } from './replica.js';
import type { Served } from './replicated-rollout.js';

export interface ReplicaServingOptions {
  readonly rollout: RolloutController;
  /** Parses and checks a revision for this replica (throws MeshLoadError and the like). */
  readonly load: (rev: MeshRevision) => LoadedMesh;
  /** Serves a description with a rollout state imposed on it, whole or not at all. */
  readonly apply: (mesh: LoadedMesh, revision: number, state: RolloutState) => void;
  /** This replica's own streams. */
  readonly status: () => ProxyStatusSnapshot;
  readonly start: { readonly revision: number; readonly decision: number; readonly mesh: LoadedMesh };
}

export class ReplicaServing implements ReplicaHost {
  readonly #o: ReplicaServingOptions;
  #served: Served;
  #current: LoadedMesh;
  #pending: { revision: number; mesh: LoadedMesh } | undefined;

  constructor(o: ReplicaServingOptions) {
    this.#o = o;
    this.#served = { revision: o.start.revision, decision: o.start.decision };
    this.#current = o.start.mesh;
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

  proposal(revision: number): RolloutState {
    return this.#o.rollout.proposal(this.#mesh(revision).model);
  }

  sameAsServed(state: RolloutState): boolean {
    return sameState(state, this.#o.rollout.state());
  }

  serve(revision: number, decision: number, state: RolloutState): void {
    const mesh = this.#mesh(revision);
    this.#o.apply(mesh, revision, state);
    this.#served = { revision, decision };
    this.#current = mesh;
    if (this.#pending && this.#pending.revision <= revision) this.#pending = undefined;
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
