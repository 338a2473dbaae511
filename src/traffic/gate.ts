// The STRICT gate: a port the description asks STRICT for goes STRICT only when the traffic evidence says it is
// ready (over the window it served mTLS and no plaintext), or when the description forces it. Otherwise the
// gate holds it at PERMISSIVE, with the reason. The gate transforms the desired model before the rollout
// controller sees it: the gate decides whether STRICT is allowed, the rollout still decides when.
//
// Once allowed, a port stays allowed while the description keeps asking STRICT for it: plaintext attempts that a
// STRICT listener refuses are evidence for strict-check, never a reason to re-open plaintext (else anyone could
// send plaintext to push a port back to PERMISSIVE). The description read at start is taken as it is, like the
// rollout controller takes it: trustplane has no evidence from before it started, and holding back what proxies
// already run would downgrade them.
//
// Incremental: a decision depends on the port's service (its name, the port and its force), whether it sends
// evidence, the port's evidence and whether it was allowed before. Each port's decision is kept with those inputs; an apply decides
// again only the ports of services the description changed, and, when the evidence says which ports changed
// (GateEvidence.revision), the ports whose evidence changed. Counters (gateCounters) prove it.
import type { MeshModel, Mode, Service } from '../mesh/model.js';
import { deriveService, edgeKey, modelWith, portKey } from '../rollout/with-modes.js';
import { diffServices } from '../mesh/service-diff.js';
import type { PortEvidence, Readiness, SourceCount, TrafficEvidenceView } from './evidence-view.js';
import { readinessOf, sendsEvidence } from './readiness.js';

/** What the gate decided for a port the description asks STRICT for. */
export interface GateDecision {
  readonly service: string;
  readonly port: number;
  /** held = served PERMISSIVE; forced = STRICT by `force: true` whatever the evidence; allowed = STRICT. */
  readonly state: 'held' | 'forced' | 'allowed';
  readonly readiness: Readiness;
  /** One sentence, for rollout status, the log and the dashboard. */
  readonly reason: string;
  /** Plaintext sources in the window, most first (what keeps it held, or what forcing refuses). */
  readonly plaintextSources: readonly SourceCount[];
}

/**
 * What the gate reads of the evidence. Both optional methods make the gate O(changed); a view without them
 * (e.g. a merged view of several replicas) still works: every STRICT port's summary is read on every apply.
 */
export interface GateEvidence extends TrafficEvidenceView {
  /**
   * Changes (compared with ===) whenever what the gate reads of any port may have changed: counts, sources, or
   * time moving the window. Unchanged: no port's evidence changed.
   */
  revision?(): unknown;
  /** The same for one port. */
  portRevision?(service: string, port: number): unknown;
  /** Only what a decision reads (window counts, plaintext sources): cheaper than port(). */
  readinessInputs?(service: string, port: number): Pick<PortEvidence, 'window' | 'plaintextSources'> | undefined;
}

export interface GateResult {
  /** The description with held ports at PERMISSIVE: what the rollout controller is given. */
  readonly model: MeshModel;
  /** One per port asked STRICT, in description order (worked out when read). */
  readonly decisions: readonly GateDecision[];
  /** Decisions new or changed by this apply, and ports no longer asked STRICT (undefined). */
  readonly changed: ReadonlyMap<string, GateDecision | undefined>;
  /** Makes this the gate's state (which ports stay allowed); until then the gate is as it was. */
  commit(): void;
}

/** Work done (tests read these, not timers): ports decided afresh, evidence read for them, services held again. */
export const gateCounters = { decided: 0, evidenceRead: 0, heldDerived: 0 };

const NO_COUNTS = { mtls: 0, plaintext: 0, handshakeFailures: 0, rbacDenied: 0 };
const NO_REVISION = Symbol('no revision');

/** A decision with what it was made from. */
interface Entry {
  /**
   * The port's `force`: with the service's name and the port (the decision's), and whether its target sends
   * evidence (`available`), all a decision reads of the service object. A new object that asks the same keeps it.
   */
  readonly force: boolean;
  readonly available: boolean;
  readonly revision: unknown;
  /** Allowed because the description at start asked STRICT (the reason says so for as long as it stays allowed). */
  readonly atStart: boolean;
  readonly decision: GateDecision;
}

/** The gate's committed state. */
interface GateState {
  readonly started: boolean;
  readonly services: readonly Service[];
  readonly accessLogs: boolean;
  readonly evidenceRevision: unknown;
  /** By port key, for every port asked STRICT. */
  readonly entries: Map<string, Entry>;
  readonly held: Set<string>;
  /** The services of the model handed on (the description's, held ports at PERMISSIVE), aligned with `services`. */
  readonly gated: Gated;
}

/** The services of a gated model, and those among them that are copies with ports held, by name. */
interface Gated {
  readonly services: readonly Service[];
  readonly copies: ReadonlyMap<string, Service>;
}

const NO_COPIES: ReadonlyMap<string, Service> = new Map();

export class StrictGate {
  #state: GateState = { started: false, services: [], accessLogs: true, evidenceRevision: NO_REVISION, entries: new Map(), held: new Set(), gated: { services: [], copies: NO_COPIES } };
  /** Bumped on every commit: a result made against an older state is worked out again when committed. */
  #generation = 0;

  constructor(private readonly evidence: GateEvidence) {}

  /** The committed decision for a port (portKey), if the description asks STRICT for it. */
  decision(key: string): GateDecision | undefined {
    return this.#state.entries.get(key)?.decision;
  }

  /** Keys of the ports held now. */
  held(): ReadonlySet<string> {
    return this.#state.held;
  }

  /** The committed decisions in the order of `model` (the description they were made for). */
  decisionsIn(model: MeshModel): GateDecision[] {
    return orderedDecisions(model, this.#state.entries);
  }

  /**
   * The model the rollout controller should head for, and why each STRICT port is where it is. Changes nothing
   * until commit(): a description the rollout then refuses leaves the gate as it was.
   */
  apply(desired: MeshModel): GateResult {
    const base = this.#state;
    const generation = this.#generation;
    const first = !base.started;
    const evidenceRevision = this.evidence.revision ? this.evidence.revision() : NO_REVISION;
    const evidenceSame = evidenceRevision !== NO_REVISION && evidenceRevision === base.evidenceRevision;
    const changed = new Map<string, GateDecision | undefined>();
    const entries = new Map<string, Entry | undefined>();
    const visit = (s: Service): void => {
      for (const ib of s.inbound) {
        if (ib.mode !== 'STRICT') continue;
        const key = portKey(s.name, ib.port);
        const had = base.entries.get(key);
        const e = this.#decide(desired, s, ib.port, ib.force === true, key, had, first);
        if (e === had) continue;
        entries.set(key, e);
        if (e.decision !== had?.decision) changed.set(key, e.decision);
      }
    };
    // Without revisions every STRICT port must be read anyway: one pass over the description, as at start.
    const diff = first || !this.evidence.revision || desired.accessLogs !== base.accessLogs ? undefined : diffServices(base.services, desired.services);
    if (!diff) {
      for (const s of desired.services) visit(s);
      const asked = new Set<string>();
      for (const s of desired.services) for (const ib of s.inbound) if (ib.mode === 'STRICT') asked.add(portKey(s.name, ib.port));
      for (const key of base.entries.keys()) if (!asked.has(key)) gone(key);
    } else {
      // A service edited in place that reads the same for the gate as the one it replaces, with no evidence changed:
      // its entries stand (visiting it would keep each one). In-place edits pair up by index (service-diff.ts).
      const kept: boolean[] = [];
      diff.changed.forEach((s, i) => {
        const o = diff.replaced[i];
        if (evidenceSame && !diff.reshaped && o !== undefined && sameForGate(o, s)) kept[i] = true;
        else visit(s);
      });
      // Ports of replaced services that the new description no longer asks STRICT for.
      for (const [i, s] of diff.replaced.entries()) {
        if (kept[i]) continue;
        for (const ib of s.inbound) {
          if (ib.mode !== 'STRICT') continue;
          const key = portKey(s.name, ib.port);
          if (entries.has(key) || !base.entries.has(key)) continue;
          const now = desired.serviceByName(s.name)?.inbound.find((x) => x.port === ib.port);
          if (now?.mode !== 'STRICT') gone(key);
        }
      }
      // Evidence that changed since the last decision: only the ports it changed are decided again.
      if (!evidenceSame) {
        // (A port of a changed service was visited above: its entry is new, or kept with the revision now.)
        for (const [key, had] of base.entries) {
          if (entries.has(key)) continue;
          const rev = this.#portRevision(had.decision.service, had.decision.port);
          if (rev !== NO_REVISION && rev === had.revision) continue;
          const s = desired.serviceByName(had.decision.service)!;
          const ib = s.inbound.find((x) => x.port === had.decision.port)!;
          const e = this.#decide(desired, s, ib.port, ib.force === true, key, had, first);
          if (e === had) continue;
          entries.set(key, e);
          if (e.decision !== had.decision) changed.set(key, e.decision);
        }
      }
    }
    function gone(key: string): void {
      entries.set(key, undefined);
      changed.set(key, undefined);
    }

    // The held set after this apply, without touching the committed one.
    let held = base.held;
    for (const [key, e] of entries) {
      const isHeld = e?.decision.state === 'held';
      if (isHeld === held.has(key)) continue;
      if (held === base.held) held = new Set(base.held);
      if (isHeld) held.add(key);
      else held.delete(key);
    }
    // The same ports held as before and services only edited in place: only the edited ones are derived again (the
    // others read the same held set with the same objects). Else every service is.
    const gated: Gated =
      held.size === 0 ? { services: desired.services, copies: NO_COPIES } : diff && !diff.reshaped && held === base.held ? holdChanged(desired, held, base.gated, diff.changed, diff.at) : holdAtPermissive(desired, held);
    let ordered: GateDecision[] | undefined;
    const result: GateResult = {
      model: held.size === 0 ? desired : modelWith(desired, gated.services, (s) => gated.copies.get(s.name) ?? s),
      get decisions() {
        if (!ordered) {
          const view = new Map(base.entries);
          for (const [k, e] of entries) e ? view.set(k, e) : view.delete(k);
          ordered = orderedDecisions(desired, view);
        }
        return ordered;
      },
      changed,
      commit: () => {
        if (this.#generation !== generation) {
          // Made against a state since replaced: decide again against the state in force.
          this.apply(desired).commit();
          return;
        }
        this.#generation++;
        const next = base.entries;
        for (const [k, e] of entries) e ? next.set(k, e) : next.delete(k);
        this.#state = { started: true, services: desired.services, accessLogs: desired.accessLogs, evidenceRevision, entries: next, held, gated };
      },
    };
    return result;
  }

  #portRevision(service: string, port: number): unknown {
    return this.evidence.portRevision ? this.evidence.portRevision(service, port) : NO_REVISION;
  }

  /** The port's decision: the one it has when nothing it depends on changed, else a new one. */
  #decide(desired: MeshModel, s: Service, port: number, force: boolean, key: string, had: Entry | undefined, first: boolean): Entry {
    // Whether the port can send evidence is the description's word (it may have just changed); counts are the evidence's.
    const available = sendsEvidence(desired, s);
    const revision = this.#portRevision(s.name, port);
    const wasAllowed = had !== undefined && had.decision.state !== 'held';
    if (!first && had && had.force === force && had.available === available && revision !== NO_REVISION && revision === had.revision) {
      // Same inputs; only "allowed before" can differ, and only for a port that was held (it stays held). A new
      // service object that asks the same of the port (an application port edited) keeps the entry.
      return had;
    }
    gateCounters.decided++;
    gateCounters.evidenceRead++;
    const e = this.evidence.readinessInputs ? this.evidence.readinessInputs(s.name, port) : this.evidence.port(s.name, port);
    const plaintextSources = e?.plaintextSources ?? [];
    const r = readinessOf(available, e?.window ?? NO_COUNTS, plaintextSources, this.evidence.windowMs);
    let state: GateDecision['state'];
    let reason: string;
    let atStart = false;
    if (force) {
      state = 'forced';
      reason = r.readiness === 'ready' ? `STRICT forced (force: true); ready anyway: ${r.reason}` : `STRICT forced (force: true) over the STRICT gate: ${r.reason}`;
    } else if (first || wasAllowed || r.readiness === 'ready') {
      state = 'allowed';
      // Allowed at start and kept since: it is STRICT because it was at start, whatever the evidence says now.
      atStart = first ? !wasAllowed : wasAllowed && had!.atStart;
      reason = atStart ? `STRICT as described at start (${r.reason})` : r.reason;
    } else {
      state = 'held';
      reason = `held at PERMISSIVE by the STRICT gate: ${r.reason}`;
    }
    const decision: GateDecision = { service: s.name, port, state, readiness: r.readiness, reason, plaintextSources };
    const same = had && sameDecision(had.decision, decision);
    return { force, available, revision, atStart, decision: same ? had.decision : decision };
  }
}

/** Whether a decision reads the same of `b` as of `a`: name, target (whether it sends evidence), and each port's number, mode and force. */
function sameForGate(a: Service, b: Service): boolean {
  return a.name === b.name && a.target === b.target && a.inbound.length === b.inbound.length && a.inbound.every((x, i) => x === b.inbound[i] || (x.port === b.inbound[i]!.port && x.mode === b.inbound[i]!.mode && x.force === b.inbound[i]!.force));
}

function sameDecision(a: GateDecision, b: GateDecision): boolean {
  return a.service === b.service && a.port === b.port && a.state === b.state && a.readiness === b.readiness && a.reason === b.reason && a.plaintextSources.length === 0 && b.plaintextSources.length === 0;
}

function orderedDecisions(model: MeshModel, entries: ReadonlyMap<string, Entry>): GateDecision[] {
  const out: GateDecision[] = [];
  for (const s of model.services) {
    for (const ib of s.inbound) {
      const e = ib.mode === 'STRICT' ? entries.get(portKey(s.name, ib.port)) : undefined;
      if (e) out.push(e.decision);
    }
  }
  return out;
}

/** A service with these ports (portKey) at PERMISSIVE, where it serves them and where it calls them. */
function heldService(s: Service, held: ReadonlySet<string>): Service {
  gateCounters.heldDerived++;
  let ports: Map<string, Mode> | undefined;
  let serverModes: Map<string, Mode> | undefined;
  for (const ib of s.inbound) {
    const key = portKey(s.name, ib.port);
    if (held.has(key)) (ports ??= new Map()).set(key, 'PERMISSIVE');
  }
  for (const dep of s.outbound) {
    if (dep.kind === 'service' && held.has(portKey(dep.service, dep.port)) && dep.serverMode === 'STRICT') {
      (serverModes ??= new Map()).set(edgeKey(s.name, dep.name), 'PERMISSIVE');
    }
  }
  return ports || serverModes ? deriveService(s, { ...(ports ? { ports } : {}), ...(serverModes ? { serverModes } : {}) }) : s;
}

/** Every service with these ports held. */
function holdAtPermissive(desired: MeshModel, held: ReadonlySet<string>): Gated {
  const copies = new Map<string, Service>();
  const services = desired.services.map((s) => {
    const d = heldService(s, held);
    if (d !== s) copies.set(s.name, d);
    return d;
  });
  return { services: Object.freeze(services), copies };
}

/** `base` (the same ports held) with the services edited in place, at positions `at`, held again. */
function holdChanged(desired: MeshModel, held: ReadonlySet<string>, base: Gated, changed: readonly Service[], at: readonly number[]): Gated {
  const services = [...base.services];
  let copies = base.copies;
  const own = (): Map<string, Service> => (copies === base.copies ? (copies = new Map(base.copies)) : copies) as Map<string, Service>;
  changed.forEach((s, i) => {
    const d = heldService(s, held);
    services[at[i]!] = d;
    if (d !== s) own().set(s.name, d);
    else if (copies.has(s.name)) own().delete(s.name);
  });
  services.length = desired.services.length;
  return { services: Object.freeze(services), copies };
}
