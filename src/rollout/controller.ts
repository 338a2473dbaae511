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
import { sameOverrideInputs, serviceOverrides, serviceWith } from './effective.js';
import type { ModeOverrides } from './with-modes.js';
import { planRollout, RolloutPlanner, type EdgePlan, type PlanChange, type PortPlan } from './plan.js';
import { diffServices } from '../mesh/service-diff.js';
import { advance, atTarget, initialState, stepPort, type EdgeInForce, type PortInForce, type RolloutState, type Settled } from './state-machine.js';
import { modelWith } from './with-modes.js';
import type { Service } from '../mesh/model.js';
import { buildRolloutStatus, type RolloutStatus } from './status.js';
import { ResourceIndex } from './resource-index.js';

export class RolloutError extends TrustplaneError {}

/** What the resource cache serves; `ResourceCache` fits as is (group = service name). */
export interface ResourceVersions {
  get(group: string, typeUrl: string, name: string): { readonly version: string } | undefined;
  /**
   * Told which resources changed (ResourceCache.subscribe): then only those, and the resources of plans or
   * states that changed, are looked up after a push. Without it every resource is looked up after every push.
   */
  subscribe?(listener: (changes: readonly { readonly group: string; readonly typeUrl: string; readonly names: readonly string[] }[]) => void): () => void;
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
  /**
   * true: the caller calls policyChanged() whenever isProxyOf's answers may have changed (e.g. once the policy of
   * a new description is in force), and setDesired keeps the proxies of each service as they are: no pass over
   * every stream per reload. Default: every setDesired works them out again (with the policy in force then).
   */
  readonly toldOfPolicyChanges?: boolean;
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
  /** The plan it was recorded for. */
  readonly plan: PortPlan | EdgePlan;
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

/** The group every node sees (ResourceCache's DEFAULT_GROUP): a change there may change any version. */
const SHARED_GROUP = '';

const MAX_CHANGE_BATCHES = 100_000;

/** One batch of the cache's change notices (ResourceCache.subscribe). */
type ResourceChanges = { readonly group: string; readonly typeUrl: string; readonly names: readonly string[] };

/** Steps and derivations one change worked out, applied only once the push succeeded. */
interface Pending {
  readonly ports: Map<string, PortInForce | undefined>;
  readonly edges: Map<string, EdgeInForce | undefined>;
  /** Ports whose plan or state changed: their resources are recorded again. */
  readonly dirty: Set<string>;
}

export class RolloutController {
  readonly #opts: RolloutControllerOptions;
  readonly #tracker: AckTracker;
  #snapshots = 0;
  #desired: MeshModel | undefined;
  readonly #planner = new RolloutPlanner();
  /** The state in force, changed in place once a push succeeded (state() hands out copies). */
  #ports = new Map<string, PortInForce>();
  #edges = new Map<string, EdgeInForce>();
  /** Ports not at their target (or with a client not on its wanted transport): the only ones a step can move. */
  readonly #unsettled = new Set<string>();
  #effective: MeshModel | undefined;
  /** The effective services, in description order (the last effective model's array). */
  #effectiveServices: readonly Service[] = [];
  /** Position of each service in the description (of the effective array): kept while services are edited in place. */
  #index = new Map<string, number>();
  /**
   * By the same positions: the description's service each effective service was derived from, and the overrides
   * it was derived with. Every service whose state entries change is derived again in the same change (as the
   * effective array requires), so these overrides are those of the state in force.
   */
  #derivedFrom: readonly Service[] = [];
  #overrides: readonly ModeOverrides[] = [];
  readonly #versions = new Map<string, StepVersions>();
  readonly #recordedByPlan = new WeakMap<PortPlan | EdgePlan, Recorded>();
  readonly #recordedByKey = new Map<string, Recorded>();
  readonly #recordedByResource = new ResourceIndex<Recorded>();
  /** Resources the cache changed since the last recording; undefined = look every one up (no feed, or all changed). */
  #changedResources: ResourceChanges[] | undefined;
  #epoch = 0;
  #counters = { rerecorded: 0, stepped: 0, derived: 0 };
  #evaluating = false;
  #again = false;

  constructor(opts: RolloutControllerOptions) {
    this.#opts = opts;
    this.#tracker = new AckTracker(opts.isProxyOf);
    if (opts.feed) {
      opts.feed.onStatusChange((e) => this.#tracker.onEvent(e));
      this.#tracker.resync(opts.feed.proxies());
    }
    if (opts.resources.subscribe) {
      this.#changedResources = [];
      opts.resources.subscribe((changes) => {
        const seen = this.#changedResources;
        if (!seen) return;
        for (const c of changes) {
          if (c.group === SHARED_GROUP) {
            this.#changedResources = undefined;
            return;
          }
          // Kept as the cache's batches: names are looked up when recording, none is copied now.
          seen.push(c);
        }
        // Batches are not merged: past a bound (changes with no recording between), look every version up instead.
        if (seen.length > MAX_CHANGE_BATCHES) this.#changedResources = undefined;
      });
    }
  }

  /**
   * What evaluating has cost (for tests and benchmarks): status snapshots read, proxy standings worked out,
   * resources whose step versions were recorded again, ports stepped, services whose overrides were looked up in
   * the state to derive the effective model (a service that reads the same as the one it replaces keeps them).
   */
  stats(): { readonly snapshots: number; readonly classified: number; readonly rerecorded: number; readonly stepped: number; readonly derived: number } {
    return { snapshots: this.#snapshots, classified: this.#tracker.classified, ...this.#counters };
  }

  /** A new (valid) description. Pushes the effective model at once, then takes every step already allowed. */
  setDesired(model: MeshModel): void {
    if (this.#evaluating) {
      throw new RolloutError('ROLLOUT_REENTRANT', 'setDesired was called from inside onEffectiveChange; hand the new description over after the push returns');
    }
    const previous = this.#desired;
    const diff = previous === undefined ? undefined : diffServices(previous.services, model.services);
    // Who may hold which service may have changed with the description: start the counts again (unless the
    // caller says when that changes: policyChanged()).
    if (!this.#opts.toldOfPolicyChanges) this.#refresh(true);
    this.#exclusive(() => {
      if (!diff || diff.reshaped) {
        const plans = this.#planner.reset(model).flatMap((c) => (c.after ? [c.after] : []));
        const next = previous === undefined ? initialState(plans) : advance(plans, this.#view(), this.#settled());
        this.#guard(previous, () => this.#applyAll(model, next));
        return;
      }
      const changes = this.#planner.update(model, diff.changed, diff.replaced);
      this.#guard(previous, () => this.#applyChanges(model, changes, diff.changed, diff.replaced, true));
    });
    this.#evaluate();
  }

  /**
   * What isProxyOf answers may have changed (the policy of a new description is in force): the proxies of every
   * service are worked out again, O(streams), and the steps now allowed are taken.
   */
  policyChanged(): void {
    if (this.#evaluating) {
      throw new RolloutError('ROLLOUT_REENTRANT', 'policyChanged was called from inside onEffectiveChange; call it after the push returns');
    }
    this.#refresh(true);
    if (this.#opts.takesSteps !== false) this.#evaluate();
  }

  /** The proxy status may have changed (an ACK, a NACK, a stream opened or closed): take the steps now allowed. */
  statusChanged(): void {
    if (this.#opts.takesSteps === false) return;
    const desired = this.#desired;
    // Nothing heading anywhere: no ACK can unlock a step, so spare the proxy-status snapshot (O(streams)).
    if (desired === undefined || this.#unsettled.size === 0) return;
    // Fed: the counts are current; unless one reached or left "every proxy", no step can be taken.
    if (this.#opts.feed && !this.#tracker.takeFlipped()) return;
    this.#evaluate();
  }

  #evaluate(): void {
    const desired = this.#desired;
    if (desired === undefined || this.#unsettled.size === 0) return;
    this.#refresh(false);
    this.#exclusive(() => {
      for (let steps = 0; steps < MAX_CHAINED_STEPS; steps++) {
        if (!this.#applyChanges(desired, [], [], [])) break;
      }
    });
  }

  /** If a change fails (the push threw), the planner goes back to the description in force. */
  #guard(previous: MeshModel | undefined, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (previous) this.#planner.reset(previous);
      throw err;
    }
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
    return advance(plans, this.#view(), this.#settled());
  }

  /** Serves `state` for `model`, decided elsewhere (it came from proposal() on the deciding controller). */
  impose(model: MeshModel, state: RolloutState): void {
    const previous = this.#desired;
    this.#exclusive(() => {
      this.#planner.reset(model);
      this.#guard(previous, () => this.#applyAll(model, state));
    });
  }

  /** The modes in force (a copy). */
  state(): RolloutState {
    return { ports: new Map(this.#ports), edges: new Map(this.#edges) };
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
      plans: this.#planner.plans(),
      state: this.#view(),
      portProgress: (p) => this.#tracker.progress(listenerKey(p)),
      edgeProgress: (_p, e) => this.#tracker.progress(clusterKey(e)),
    });
  }

  #view(): RolloutState {
    return { ports: this.#ports, edges: this.#edges };
  }

  /** The whole state replaced (first description, a reshaped one, or one imposed): O(ports). */
  #applyAll(desired: MeshModel, next: RolloutState): void {
    const index = new Map(desired.services.map((s, i) => [s.name, i]));
    const overrides = desired.services.map((s) => this.#overridesOf(s, next));
    const services = Object.freeze(desired.services.map((s, i) => serviceWith(s, overrides[i]!)));
    const model = modelWith(desired, services, (s) => services[index.get(s.name)!] ?? s);
    this.#push(model);
    this.#desired = desired;
    this.#ports = new Map(next.ports);
    this.#edges = new Map(next.edges);
    this.#index = index;
    this.#effectiveServices = services;
    this.#derivedFrom = desired.services;
    this.#overrides = overrides;
    this.#effective = model;
    this.#unsettled.clear();
    const plans = this.#planner.plans();
    for (const p of plans) if (!atTarget(p, next)) this.#unsettled.add(p.key);
    this.#recordAll(plans);
  }

  /**
   * One change in O(what changed): the ports whose plan changed and every port not at its target take the steps
   * the rules allow (stepPort reads the state before the change alone, as advance does); the services those
   * ports and their clients belong to are derived again; only their resources' versions are recorded again.
   * Returns whether anything changed (`push`: publish even if nothing did).
   */
  #applyChanges(desired: MeshModel, changes: readonly PlanChange[], changed: readonly Service[], replaced: readonly Service[], push = false): boolean {
    const state = this.#view();
    const settled = this.#settled();
    const pending: Pending = { ports: new Map(), edges: new Map(), dirty: new Set() };
    // Services to derive again, with their description object when known (else looked up by name).
    const touched = new Map<string, Service | undefined>();
    const touch = (name: string): void => void (touched.has(name) || touched.set(name, undefined));
    for (const s of changed) touched.set(s.name, s);
    for (const s of replaced) touch(s.name);
    const clientsOf = (p: PortPlan | undefined): void => {
      if (!p) return;
      touch(p.service);
      for (const e of p.edges) touch(e.client);
    };
    // Gone ports and edges no plan holds any more.
    for (const c of changes) {
      pending.dirty.add(c.key);
      clientsOf(c.before);
      clientsOf(c.after);
      if (!c.after) pending.ports.set(c.key, undefined);
      for (const e of c.before?.edges ?? []) if (!this.#planner.edge(e.key)) pending.edges.set(e.key, undefined);
    }
    const step = (key: string): void => {
      const plan = this.#planner.port(key);
      if (!plan) return;
      this.#counters.stepped++;
      const next = stepPort(plan, state, settled);
      let moved = next.port !== state.ports.get(key);
      if (moved) pending.ports.set(key, next.port);
      plan.edges.forEach((e, i) => {
        if (next.edges[i] === state.edges.get(e.key)) return;
        pending.edges.set(e.key, next.edges[i]);
        moved = true;
      });
      if (moved) {
        pending.dirty.add(key);
        clientsOf(plan);
      }
    };
    const stepped = new Set<string>();
    for (const c of changes) if (c.after && !stepped.has(c.key)) stepped.add(c.key), step(c.key);
    for (const key of this.#unsettled) if (!stepped.has(key)) stepped.add(key), step(key);
    // A new description is always pushed (what it changes outside the services, e.g. accessLogs, is the generator's).
    if (!push && pending.dirty.size === 0 && touched.size === 0) return false;

    // The effective services of what changed, against the state after the change.
    const after: RolloutState = { ports: overlay(this.#ports, pending.ports), edges: overlay(this.#edges, pending.edges) };
    const services = [...this.#effectiveServices];
    const derivedFrom = [...this.#derivedFrom];
    const overrides = [...this.#overrides];
    // No state entry moves: a service that reads the same as the one it replaces keeps its overrides (no lookups).
    const stateSame = pending.ports.size === 0 && pending.edges.size === 0;
    const index = this.#index;
    for (const [name, known] of touched) {
      const s = known ?? desired.serviceByName(name);
      if (!s) continue;
      let at = index.get(name);
      if (at === undefined) index.set(name, (at = index.size));
      const from = derivedFrom[at];
      const o = stateSame && from !== undefined && sameOverrideInputs(from, s) ? overrides[at]! : this.#overridesOf(s, after);
      derivedFrom[at] = s;
      overrides[at] = o;
      services[at] = serviceWith(s, o);
    }
    services.length = desired.services.length;
    derivedFrom.length = overrides.length = desired.services.length;
    Object.freeze(services);
    const model = modelWith(desired, services, (s) => {
      const d = services[index.get(s.name)!];
      return d?.name === s.name ? d : s;
    });
    this.#push(model);

    this.#desired = desired;
    for (const [k, v] of pending.ports) v ? this.#ports.set(k, v) : this.#ports.delete(k);
    for (const [k, v] of pending.edges) v ? this.#edges.set(k, v) : this.#edges.delete(k);
    this.#effectiveServices = services;
    this.#derivedFrom = derivedFrom;
    this.#overrides = overrides;
    this.#effective = model;
    for (const key of stepped) {
      const plan = this.#planner.port(key);
      if (plan && !atTarget(plan, state)) this.#unsettled.add(key);
      else this.#unsettled.delete(key);
    }
    for (const c of changes) if (!c.after) this.#unsettled.delete(c.key);
    this.#recordChanged(changes, pending.dirty);
    return true;
  }

  /** What a service is derived with (counted as a derivation: a service's overrides looked up in the state). */
  #overridesOf(s: Service, state: RolloutState): ModeOverrides {
    this.#counters.derived++;
    return serviceOverrides(s, state);
  }

  /** Publishes the effective model; the cache's change notices collected during it say which versions moved. */
  #push(model: MeshModel): void {
    this.#opts.onEffectiveChange(model);
  }

  /** Every resource looked up (first description, reshaped, imposed; or no change feed from the cache). */
  #recordAll(plans: readonly PortPlan[]): void {
    const epoch = ++this.#epoch;
    for (const p of plans) this.#recordPort(p, epoch);
    for (const [key, r] of this.#recordedByKey) {
      if (r.epoch === epoch) continue;
      this.#forget(key, r);
    }
    if (this.#opts.resources.subscribe) this.#changedResources = [];
  }

  /**
   * After a push: the resources of ports whose plan or state changed, and those the cache says changed, record
   * the version now served; resources of plans that left are forgotten.
   */
  #recordChanged(changes: readonly PlanChange[], dirty: ReadonlySet<string>): void {
    const changedResources = this.#changedResources;
    if (!changedResources) {
      this.#recordAll(this.#planner.plans());
      return;
    }
    const epoch = ++this.#epoch;
    for (const key of dirty) {
      const plan = this.#planner.port(key);
      if (plan) this.#recordPort(plan, epoch);
    }
    for (const c of changedResources) {
      const recorded = this.#recordedByResource.names(c.group, c.typeUrl);
      if (!recorded) continue;
      for (const name of c.names) {
        const r = recorded.get(name);
        if (!r || r.epoch === epoch) continue;
        const plan = 'edges' in r.plan ? this.#planner.port(r.plan.key) : this.#planner.edge(r.plan.key);
        if (plan !== r.plan) continue;
        if ('edges' in plan) this.#recordListener(plan, epoch);
        else this.#recordEdge(plan, epoch);
      }
    }
    changedResources.length = 0;
    // Plans that left: forget what was recorded for them unless a current plan recorded the same key since.
    for (const c of changes) {
      for (const plan of [c.before, ...(c.before?.edges ?? [])]) {
        if (!plan) continue;
        const r = this.#recordedByPlan.get(plan);
        if (r && this.#recordedByKey.get(r.key) === r && !this.#current(plan)) this.#forget(r.key, r);
      }
    }
  }

  #current(plan: PortPlan | EdgePlan): boolean {
    return 'edges' in plan ? this.#planner.port(plan.key) === plan : this.#planner.edge(plan.key) === plan;
  }

  #forget(key: string, r: Recorded): void {
    this.#recordedByKey.delete(key);
    if (this.#recordedByResource.get(r.group, r.typeUrl, r.name) === r) this.#recordedByResource.delete(r.group, r.typeUrl, r.name);
    this.#versions.delete(key);
    this.#tracker.untrack(key);
  }

  #recordPort(p: PortPlan, epoch: number): void {
    this.#recordListener(p, epoch);
    for (const e of p.edges) this.#recordEdge(e, epoch);
  }

  #recordListener(p: PortPlan, epoch: number): void {
    const port = this.#ports.get(p.key)!;
    this.#record(p, port, () => port.mode, () => ({ key: listenerKey(p), group: p.service, typeUrl: LISTENER_TYPE_URL, name: p.listener }), epoch);
  }

  #recordEdge(e: EdgePlan, epoch: number): void {
    const edge = this.#edges.get(e.key)!;
    this.#record(e, edge, () => `${edge.transport} ${edge.server}:${edge.port}`, () => ({ key: clusterKey(e), group: e.client, typeUrl: CLUSTER_TYPE_URL, name: e.cluster }), epoch);
  }

  /**
   * The version now served of one resource joins its step's set (or starts a new set), and the tracker counts
   * ACKs of exactly those versions.
   */
  #record(plan: PortPlan | EdgePlan, state: unknown, step: () => string, make: () => Omit<Recorded, 'plan' | 'state' | 'version' | 'epoch'>, epoch: number): void {
    let r = this.#recordedByPlan.get(plan);
    if (!r) this.#recordedByPlan.set(plan, (r = { plan, ...make(), state: undefined, version: undefined, epoch }));
    r.epoch = epoch;
    const version = this.#opts.resources.get(r.group, r.typeUrl, r.name)?.version;
    // Same plan, same state in force, same version served: its step's versions and its counts stand.
    if (r.state === state && r.version === version && this.#recordedByKey.get(r.key) === r) return;
    this.#counters.rerecorded++;
    r.state = state;
    r.version = version;
    this.#recordedByKey.set(r.key, r);
    this.#recordedByResource.set(r.group, r.typeUrl, r.name, r);
    const s = step();
    const had = this.#versions.get(r.key);
    let v: StepVersions;
    if (version === undefined) this.#versions.set(r.key, (v = { step: s, versions: new Set() }));
    else if (had && had.step === s && had.versions.size > 0) (v = had).versions.add(version);
    else this.#versions.set(r.key, (v = { step: s, versions: new Set([version]) }));
    this.#tracker.track(r.key, r.group, r.typeUrl, r.name, v.versions);
  }

  /** Whether the proxies connected now ACKed the step in force, by port and edge key: O(1) each. */
  #settled(): Settled {
    return {
      port: (key) => {
        const p = this.#planner.port(key);
        return p !== undefined && this.#tracker.settled(listenerKey(p));
      },
      edge: (key) => {
        const e = this.#planner.edge(key);
        return e !== undefined && this.#tracker.settled(clusterKey(e));
      },
    };
  }
}

/** `base` with `changes` over it (undefined = deleted), for reads only: what the state will be after a change. */
function overlay<V>(base: ReadonlyMap<string, V>, changes: ReadonlyMap<string, V | undefined>): ReadonlyMap<string, V> {
  if (changes.size === 0) return base;
  return {
    get: (k: string) => (changes.has(k) ? changes.get(k) : base.get(k)),
    has: (k: string) => (changes.has(k) ? changes.get(k) !== undefined : base.has(k)),
  } as ReadonlyMap<string, V>;
}
