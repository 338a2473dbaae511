// The rollout controller: holds the modes in force, feeds the control plane an effective mesh model with modes
// held back, and moves them toward the description as proxies ACK (state-machine.ts has the rules). I/O stays
// with the caller: it is told the proxy status and the cache's versions through functions, and publishes the
// effective model through a callback. Given a `feed` (the xDS server), it keeps per-step ACK counts up to date
// as proxies answer (progress.ts), so an ACK costs O(1) and a step is evaluated only when some count reached or
// left "every proxy"; without one, it reads a status snapshot each time.
import type { MeshModel } from '../mesh/model.js';
import { TrustplaneError } from '../errors.js';
import type { ProxyStatus, ProxyStatusSnapshot } from '../xds/status/proxy-status.js';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from '../envoy/type-urls.js';
import { AckTracker, type ProxyFeed, type TrackedProxy } from './progress.js';
import { effectiveModel } from './effective.js';
import { planRollout, type EdgePlan, type PortPlan } from './plan.js';
import { advance, initialState, sameState, type RolloutState, type Settled } from './state-machine.js';
import { buildRolloutStatus, type RolloutStatus } from './status.js';

export class RolloutError extends TrustplaneError {}

/** What the resource cache serves; `ResourceCache` fits as is (group = service name). */
export interface ResourceVersions {
  get(group: string, typeUrl: string, name: string): { readonly version: string } | undefined;
}

/** Whether every port is in force at its target and every client on the transport it wants. */
function atTargets(plans: readonly PortPlan[], state: RolloutState): boolean {
  return plans.every((p) => state.ports.get(p.key)?.mode === p.target && p.edges.every((e) => state.edges.get(e.key)?.transport === e.wanted));
}

export interface RolloutControllerOptions {
  /** The xDS server's proxy status (XdsServer.status); read on every evaluation unless `feed` is given. */
  status(): ProxyStatusSnapshot;
  /**
   * The live proxies and their changes (the XdsServer itself): counts are then kept up to date per event and
   * status() is never read on the hot path. statusChanged() must still be called (once per turn is enough).
   */
  readonly feed?: ProxyFeed;
  /**
   * Whether a stream really is a proxy of the service its node.cluster names (its principal may hold that
   * service). node.cluster is the caller's word: without this, anyone could stall a rollout by never ACKing.
   */
  isProxyOf?(proxy: TrackedProxy, service: string): boolean;
  /** Versions of what is served; read right after each onEffectiveChange to learn the version of each step. */
  readonly resources: ResourceVersions;
  /**
   * Publishes a new effective model: generate and set it into the resource cache before returning. If it throws,
   * the controller keeps the previous state (nothing was pushed) and rethrows.
   */
  onEffectiveChange(model: MeshModel): void;
  /**
   * false: this controller never takes a step by itself; the states it serves are imposed (impose()) by whoever
   * decides, e.g. the leader of several replicas, which asks proposal() and records the answer first.
   */
  readonly takesSteps?: boolean;
}

/** How many steps one evaluation may chain when nobody is connected to wait for (D→P→S is at most 3 pushes). */
const MAX_CHAINED_STEPS = 8;

interface StepVersions {
  /** The step in force for this resource: a port's mode or an edge's transport. */
  readonly step: string;
  /** Versions served since the step was taken; empty = not served. */
  readonly versions: Set<string>;
}

/**
 * What was last recorded for one plan's resource (a port's listener, an edge's cluster), by the plan object: plans
 * that did not change are the same objects (plan.ts), so a reload re-records only resources whose plan, state in
 * force or served version changed.
 */
interface Recorded {
  readonly key: string;
  readonly group: string;
  readonly typeUrl: string;
  readonly name: string;
  /** The state entry (PortInForce / EdgeInForce) and version recorded last; undefined before the first time. */
  state: unknown;
  version: string | undefined;
  /** The apply that last saw the plan in force. */
  epoch: number;
}

const listenerKey = (p: PortPlan): string => `L ${p.service} ${p.listener}`;
const clusterKey = (e: EdgePlan): string => `C ${e.client} ${e.cluster}`;

/** A status snapshot's entry as a tracked proxy (the snapshot path). */
function trackedOf(p: ProxyStatus): TrackedProxy {
  const types = new Map(p.types.map((t) => [t.typeUrl, new Map(t.resources.map((r) => [r.name, r]))]));
  return { streamId: p.streamId, nodeId: p.nodeId, cluster: p.cluster, principal: p.principal, service: p.service, resource: (typeUrl, name) => types.get(typeUrl)?.get(name) };
}

export class RolloutController {
  readonly #opts: RolloutControllerOptions;
  readonly #tracker: AckTracker;
  #snapshots = 0;
  #desired: MeshModel | undefined;
  #plans: readonly PortPlan[] = [];
  #portsByKey = new Map<string, PortPlan>();
  #edgesByKey = new Map<string, EdgePlan>();
  #state: RolloutState = { ports: new Map(), edges: new Map() };
  #effective: MeshModel | undefined;
  readonly #versions = new Map<string, StepVersions>();
  readonly #recordedByPlan = new WeakMap<PortPlan | EdgePlan, Recorded>();
  readonly #recordedByKey = new Map<string, Recorded>();
  #epoch = 0;
  #rerecorded = 0;
  /** Whether every port and edge is at its target: worked out once per change, read on every status change. */
  #atTargets = true;
  #evaluating = false;
  #again = false;

  constructor(opts: RolloutControllerOptions) {
    this.#opts = opts;
    this.#tracker = new AckTracker(opts.isProxyOf);
    if (opts.feed) {
      opts.feed.onStatusChange((e) => this.#tracker.onEvent(e));
      this.#tracker.resync(opts.feed.proxies());
    }
  }

  /** What evaluating has cost: status snapshots read, and proxy standings worked out (for tests and benchmarks). */
  stats(): { readonly snapshots: number; readonly classified: number; readonly rerecorded: number } {
    return { snapshots: this.#snapshots, classified: this.#tracker.classified, rerecorded: this.#rerecorded };
  }

  /** A new (valid) description. Pushes the effective model at once, then takes every step already allowed. */
  setDesired(model: MeshModel): void {
    if (this.#evaluating) {
      throw new RolloutError('ROLLOUT_REENTRANT', 'setDesired was called from inside onEffectiveChange; hand the new description over after the push returns');
    }
    const plans = planRollout(model);
    // Who may hold which service may have changed with the description: start the counts again.
    this.#refresh(true);
    this.#exclusive(() => {
      const next = this.#desired === undefined ? initialState(plans) : advance(plans, this.#state, this.#settled());
      this.#apply(model, plans, next);
    });
    this.#evaluate();
  }

  /** The proxy status may have changed (an ACK, a NACK, a stream opened or closed): take the steps now allowed. */
  statusChanged(): void {
    if (this.#opts.takesSteps === false) return;
    const desired = this.#desired;
    // Nothing heading anywhere: no ACK can unlock a step, so spare the proxy-status snapshot (O(streams)).
    if (desired === undefined || this.#atTargets) return;
    // Fed: the counts are current; unless one reached or left "every proxy", no step can be taken.
    if (this.#opts.feed && !this.#tracker.takeFlipped()) return;
    this.#evaluate();
  }

  #evaluate(): void {
    const desired = this.#desired;
    if (desired === undefined || this.#atTargets) return;
    this.#refresh(false);
    this.#exclusive(() => {
      for (let steps = 0; steps < MAX_CHAINED_STEPS; steps++) {
        const next = advance(this.#plans, this.#state, this.#settled());
        if (sameState(next, this.#state)) break;
        this.#apply(desired, this.#plans, next);
      }
    });
  }

  /**
   * Runs one change at a time. A statusChanged() from inside onEffectiveChange (the caller's push may report
   * synchronously) is deferred until the running change is complete, then evaluated.
   */
  #exclusive(fn: () => void): void {
    if (this.#evaluating) {
      this.#again = true;
      return;
    }
    this.#evaluating = true;
    try {
      fn();
    } finally {
      this.#evaluating = false;
    }
    if (this.#again) {
      this.#again = false;
      this.#evaluate();
    }
  }

  /** Brings the counts up to date: from a snapshot when not fed; when fed, only when asked (`resync`). */
  #refresh(resync: boolean): void {
    const feed = this.#opts.feed;
    if (feed && !resync) return;
    if (feed) {
      this.#tracker.resync(feed.proxies());
      return;
    }
    this.#snapshots++;
    this.#tracker.resync(this.#opts.status().proxies.map(trackedOf));
  }

  /**
   * The state the rules allow next for `model` (the description in force, or a new one), from the state in force
   * and the proxy status now; nothing is taken. With a new description this is its first state, as setDesired
   * would take it.
   */
  proposal(model: MeshModel): RolloutState {
    const plans = planRollout(model);
    if (this.#desired === undefined) return initialState(plans);
    this.#refresh(true);
    return advance(plans, this.#state, this.#settled());
  }

  /** Serves `state` for `model`, decided elsewhere (it came from proposal() on the deciding controller). */
  impose(model: MeshModel, state: RolloutState): void {
    const plans = planRollout(model);
    this.#exclusive(() => this.#apply(model, plans, state));
  }

  /** The modes in force. */
  state(): RolloutState {
    return this.#state;
  }

  desired(): MeshModel | undefined {
    return this.#desired;
  }

  /** The model in force: the description with the modes not yet safe held back. */
  effective(): MeshModel {
    if (!this.#effective) throw new RolloutError('ROLLOUT_NO_DESCRIPTION', 'the rollout controller has no mesh description yet; call setDesired first');
    return this.#effective;
  }

  rolloutStatus(): RolloutStatus {
    this.#refresh(false);
    return buildRolloutStatus({
      plans: this.#plans,
      state: this.#state,
      portProgress: (p) => this.#tracker.progress(listenerKey(p)),
      edgeProgress: (_p, e) => this.#tracker.progress(clusterKey(e)),
    });
  }

  #apply(desired: MeshModel, plans: readonly PortPlan[], next: RolloutState): void {
    const model = effectiveModel(desired, plans, next);
    this.#opts.onEffectiveChange(model);
    this.#desired = desired;
    if (this.#plans !== plans) {
      this.#portsByKey = new Map(plans.map((p) => [p.key, p]));
      this.#edgesByKey = new Map(plans.flatMap((p) => p.edges.map((e) => [e.key, e] as const)));
    }
    this.#plans = plans;
    this.#state = next;
    this.#effective = model;
    this.#atTargets = atTargets(plans, next);
    this.#recordVersions();
  }

  /**
   * After a push: the version now served of every tracked resource joins its step's set (or starts a new set),
   * and the tracker counts ACKs of exactly those versions.
   */
  #recordVersions(): void {
    const epoch = ++this.#epoch;
    const record = (plan: PortPlan | EdgePlan, state: unknown, step: () => string, make: () => Omit<Recorded, 'state' | 'version' | 'epoch'>): void => {
      let r = this.#recordedByPlan.get(plan);
      if (!r) this.#recordedByPlan.set(plan, (r = { ...make(), state: undefined, version: undefined, epoch }));
      r.epoch = epoch;
      const version = this.#opts.resources.get(r.group, r.typeUrl, r.name)?.version;
      // Same plan, same state in force, same version served: its step's versions and its counts stand.
      if (r.state === state && r.version === version && this.#recordedByKey.get(r.key) === r) return;
      this.#rerecorded++;
      r.state = state;
      r.version = version;
      this.#recordedByKey.set(r.key, r);
      const s = step();
      const had = this.#versions.get(r.key);
      let v: StepVersions;
      if (version === undefined) this.#versions.set(r.key, (v = { step: s, versions: new Set() }));
      else if (had && had.step === s && had.versions.size > 0) (v = had).versions.add(version);
      else this.#versions.set(r.key, (v = { step: s, versions: new Set([version]) }));
      this.#tracker.track(r.key, r.group, r.typeUrl, r.name, v.versions);
    };
    for (const p of this.#plans) {
      const port = this.#state.ports.get(p.key)!;
      record(p, port, () => port.mode, () => ({ key: listenerKey(p), group: p.service, typeUrl: LISTENER_TYPE_URL, name: p.listener }));
      for (const e of p.edges) {
        const edge = this.#state.edges.get(e.key)!;
        record(e, edge, () => this.#edgeStep(e), () => ({ key: clusterKey(e), group: e.client, typeUrl: CLUSTER_TYPE_URL, name: e.cluster }));
      }
    }
    for (const [key, r] of this.#recordedByKey) {
      if (r.epoch === epoch) continue;
      this.#recordedByKey.delete(key);
      this.#versions.delete(key);
      this.#tracker.untrack(key);
    }
  }

  #edgeStep(e: EdgePlan): string {
    const edge = this.#state.edges.get(e.key)!;
    return `${edge.transport} ${edge.server}:${edge.port}`;
  }

  /** Whether the proxies connected now ACKed the step in force, by port and edge key: O(1) each. */
  #settled(): Settled {
    return {
      port: (key) => {
        const p = this.#portsByKey.get(key);
        return p !== undefined && this.#tracker.settled(listenerKey(p));
      },
      edge: (key) => {
        const e = this.#edgesByKey.get(key);
        return e !== undefined && this.#tracker.settled(clusterKey(e));
      },
    };
  }
}
