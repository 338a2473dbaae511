// The traffic side of the control plane, composed: the access-log receiver feeds the evidence; the STRICT gate
// reads it and hands the rollout controller the description with unready ports held at PERMISSIVE; rollout
// status, strict-check, metrics and the dashboard's view read both. The control plane wires it in a few lines:
//
//   const gated = traffic.prepare(model)               on start and on every good reload
//   rollout.setDesired(gated.model); gated.commit()
//   traffic.onGateChange((model) => rollout.setDesired(model))
//   traffic.receiver.addTo(server, auth)               beside xds.addTo on every transport listener
import type { Clock, TimerHandle } from '../clock.js';
import type { MeshModel, Service } from '../mesh/model.js';
import type { RolloutStatus } from '../rollout/status.js';
import type { NodePrincipal } from '../xds/principal.js';
import { AccessLogReceiver, type AlsHooks, type AlsLimits, type AlsLogger } from './als-service.js';
import type { PortEvidence, TrafficEvidenceView } from './evidence-view.js';
import { portKeyOf, TrafficEvidence, type KnownPort } from './evidence.js';
import { StrictGate, type GateDecision, type GateResult } from './gate.js';
import { diffServices } from '../mesh/service-diff.js';
import { sendsEvidence } from './readiness.js';
import { strictCheck, type StrictCheckReport } from './strict-check.js';
import { gatedRollout, type GatedPortRollout } from './gated-rollout.js';

export interface TrafficConfig {
  /** Sliding window of the evidence (default 24 h). */
  readonly windowMs?: number;
  /** Distinct sources kept per port before the rest count under "other" (default 32). */
  readonly maxSourcesPerPort?: number;
  readonly limits?: Partial<AlsLimits>;
}

export interface TrafficOptions extends TrafficConfig {
  readonly clock: Clock;
  readonly logger: AlsLogger;
  mayReport(principal: NodePrincipal, service: string): boolean;
  readonly hooks?: AlsHooks;
}

export type { GatedPortRollout } from './gated-rollout.js';

/** Which ports a model declares (or these of its services), and whether they can send evidence. */
export function knownPorts(model: MeshModel, services: readonly Service[] = model.services): KnownPort[] {
  return services.flatMap((s) => s.inbound.map((ib) => ({ service: s.name, port: ib.port, evidenceAvailable: sendsEvidence(model, s) })));
}

/** Whether knownPorts says the same of `b` as of `a` (in `model`): the same ports, as able to send evidence. */
function sameKnownPorts(model: MeshModel, a: Service, b: Service): boolean {
  return a.inbound.length === b.inbound.length && a.inbound.every((ib, i) => ib.port === b.inbound[i]!.port) && sendsEvidence(model, a) === sendsEvidence(model, b);
}

export class Traffic implements TrafficEvidenceView {
  readonly evidence: TrafficEvidence;
  readonly receiver: AccessLogReceiver;
  readonly #gate: StrictGate;
  readonly #clock: Clock;
  readonly #logger: AlsLogger;
  #desired: MeshModel | undefined;
  readonly #gateListeners = new Set<(model: MeshModel) => void>();
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(opts: TrafficOptions) {
    this.#clock = opts.clock;
    this.#logger = opts.logger;
    this.evidence = new TrafficEvidence({ clock: opts.clock, ...(opts.windowMs ? { windowMs: opts.windowMs } : {}), ...(opts.maxSourcesPerPort ? { maxSourcesPerPort: opts.maxSourcesPerPort } : {}) });
    this.receiver = new AccessLogReceiver({ evidence: this.evidence, clock: opts.clock, mayReport: opts.mayReport, logger: opts.logger, ...(opts.limits ? { limits: opts.limits } : {}), ...(opts.hooks ? { hooks: opts.hooks } : {}) });
    this.#gate = new StrictGate(this.evidence);
    this.evidence.onChange(() => this.#heldMayBeReady());
  }

  get windowMs(): number {
    return this.evidence.windowMs;
  }

  /**
   * A new (valid) description: what the rollout controller should be given. Nothing changes until commit(), so
   * that a description the rollout refuses leaves the gate and the evidence as they were:
   *   const gated = traffic.prepare(model); rollout.setDesired(gated.model); gated.commit();
   */
  prepare(model: MeshModel): { readonly model: MeshModel; commit(): void } {
    const result = this.#gate.apply(model);
    const before = this.#statesOf(result);
    return {
      model: result.model,
      commit: () => {
        result.commit();
        const previous = this.#desired;
        this.#desired = model;
        // The evidence's ports follow the description: only those of the services it changed are declared again.
        const diff = previous && previous.accessLogs === model.accessLogs ? diffServices(previous.services, model.services) : undefined;
        if (diff) {
          // A service edited in place that declares the same ports, as able to send evidence as before, keeps them.
          const names = new Set<string>();
          const declared: Service[] = [];
          const { changed, replaced } = diff;
          for (let i = 0; i < Math.max(changed.length, replaced.length); i++) {
            const s = changed[i];
            const o = replaced[i];
            if (s && o && s.name === o.name && sameKnownPorts(model, o, s)) continue;
            if (s) names.add(s.name), declared.push(s);
            if (o) names.add(o.name);
          }
          this.evidence.updatePorts(names, knownPorts(model, declared));
        } else this.evidence.setPorts(knownPorts(model));
        this.receiver.policyChanged();
        this.#adopt(result, before);
      },
    };
  }

  /** prepare() and commit() at once. */
  setMesh(model: MeshModel): MeshModel {
    const gated = this.prepare(model);
    gated.commit();
    return gated.model;
  }

  /** Told whenever the gate changes the model the rollout controller should head for. */
  onGateChange(listener: (model: MeshModel) => void): () => void {
    this.#gateListeners.add(listener);
    return () => this.#gateListeners.delete(listener);
  }

  /** Gate decisions, by port key, for the ports the description asks STRICT for. */
  decisions(): readonly GateDecision[] {
    return this.#desired ? this.#gate.decisionsIn(this.#desired).map((d) => this.#current(d)) : [];
  }

  /** A held port's reason follows the evidence (sources, last seen) between evaluations. */
  #current(d: GateDecision): GateDecision {
    if (d.state !== 'held') return d;
    const e = this.evidence.port(d.service, d.port);
    if (!e) return d;
    return { ...d, readiness: e.readiness, reason: `held at PERMISSIVE by the STRICT gate: ${e.readinessReason}`, plaintextSources: e.plaintextSources };
  }

  ports(): readonly PortEvidence[] {
    return this.evidence.ports().map((e) => this.#withGate(e));
  }

  port(service: string, port: number): PortEvidence | undefined {
    const e = this.evidence.port(service, port);
    return e && this.#withGate(e);
  }

  onChange(listener: () => void): () => void {
    return this.evidence.onChange(listener);
  }

  /** Rollout status with the gate's word on every port it holds or forces: asked is the description's mode. */
  decorate(status: RolloutStatus): { ports: GatedPortRollout[] } {
    return gatedRollout(status, (service, port) => {
      const had = this.#gate.decision(portKeyOf(service, port));
      return had && this.#current(had);
    });
  }

  strictCheck(service?: string): StrictCheckReport {
    if (!this.#desired) return { windowMs: this.windowMs, at: new Date(this.#clock.now()).toISOString(), ports: [] };
    return strictCheck(this.#desired, this.evidence, this.#clock.now(), service);
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #withGate(e: PortEvidence): PortEvidence {
    const d = this.#gate.decision(portKeyOf(e.service, e.port));
    if (!d) return e;
    const reason = d.state === 'held' ? `held at PERMISSIVE by the STRICT gate: ${e.readinessReason}` : d.reason;
    return { ...e, strictGate: { state: d.state, reason } };
  }

  /** The committed states of the ports a result changes (what its log lines compare with). */
  #statesOf(result: GateResult): Map<string, GateDecision['state']> {
    const out = new Map<string, GateDecision['state']>();
    for (const key of result.changed.keys()) {
      const d = this.#gate.decision(key);
      if (d) out.set(key, d.state);
    }
    return out;
  }

  /** Decisions of a committed gate result: logged where they changed, and the re-evaluation timer set. */
  #adopt(result: GateResult, before: ReadonlyMap<string, GateDecision['state']>): void {
    for (const [key, d] of result.changed) {
      const wasState = before.get(key);
      if (!d || wasState === d.state) continue;
      const was = wasState === undefined ? undefined : { state: wasState };
      const fields = { event: `strict_gate_${d.state === 'allowed' ? (was?.state === 'held' ? 'released' : 'allowed') : d.state}`, service: d.service, port: d.port, readiness: d.readiness, reason: d.reason };
      if (d.state === 'held' || d.state === 'forced' || was?.state === 'held') this.#logger.info(fields, d.reason);
      else this.#logger.debug(fields, d.reason);
    }
    this.#schedule();
  }

  /** While a port is held, time alone can release it (plaintext leaving the window): look again every bucket. */
  #schedule(): void {
    const held = this.#gate.held().size > 0;
    if (!held || this.#closed) {
      this.#timer?.cancel();
      this.#timer = undefined;
      return;
    }
    if (this.#timer) return;
    this.#timer = this.#clock.setTimer(this.evidence.bucketMs, () => {
      this.#timer = undefined;
      this.#heldMayBeReady();
      this.#schedule();
    });
  }

  /** Re-applies the gate when a held port has become ready (only held ports can change without a new description). */
  #heldMayBeReady(): void {
    if (this.#closed || !this.#desired) return;
    // Held ports only: O(held), not O(ports), on every batch of access logs.
    const ready = [...this.#gate.held()].some((key) => {
      const d = this.#gate.decision(key)!;
      return this.evidence.isReady(d.service, d.port);
    });
    if (!ready) return;
    const result = this.#gate.apply(this.#desired);
    const before = this.#statesOf(result);
    result.commit();
    this.#adopt(result, before);
    for (const l of [...this.#gateListeners]) l(result.model);
  }
}
