// The STRICT gate across replicas. The leader runs the one STRICT gate (src/traffic/gate.ts) over every replica's
// evidence (global-evidence.ts) and records the gate's word per port with each rollout decision; every replica
// serves the decision and shows the recorded word on /rollout and the dashboard, its reason kept current from the
// shared evidence.
//
// The gate remembers which ports it allowed (they stay STRICT whatever plaintext later tries), and takes the
// description it starts with as it is. A leader that takes over must not start afresh — a fresh gate would allow
// every STRICT port "as described at start" and flip a held port to STRICT on an empty view. So the gate is
// started from what was recorded: ports the latest decision recorded as allowed or forced, and ports already STRICT
// in force, stay allowed; every other port the description asks STRICT for is judged by the evidence.
import type { MeshModel, Mode } from '../mesh/model.js';
import { portKey, withModes, type RolloutState } from '../rollout/index.js';
import type { RolloutStatus } from '../rollout/status.js';
import type { StrictGateState, TrafficEvidenceView, PortEvidence } from '../traffic/evidence-view.js';
import { StrictGate, type GateDecision, type GateResult } from '../traffic/gate.js';
import { portKeyOf } from '../traffic/evidence.js';
import { gatedRollout, type GatedPortRollout } from '../traffic/gated-rollout.js';
import { TrustplaneError } from '../errors.js';

/** The gate's word on one port, as recorded with a rollout decision. */
export interface GateRecord {
  readonly service: string;
  readonly port: number;
  readonly state: GateDecision['state'];
  readonly reason: string;
}

const STATES: readonly GateRecord['state'][] = ['held', 'forced', 'allowed'];

export const gateRecords = (decisions: readonly GateDecision[]): GateRecord[] => decisions.map((d) => ({ service: d.service, port: d.port, state: d.state, reason: d.reason }));

export function encodeGate(records: readonly GateRecord[]): unknown[] {
  return records.map((r) => [r.service, r.port, r.state, r.reason]);
}

/** The gate recorded with a decision; undefined for decisions recorded without one (a deployment's first, or older replicas'). */
export function decodeGate(doc: Readonly<Record<string, unknown>>): GateRecord[] | undefined {
  const g = doc['gate'];
  if (g === undefined) return undefined;
  const bad = (): never => {
    throw new TrustplaneError('ROLLOUT_DECISION_INVALID', "a recorded rollout decision's STRICT gate is not valid; written by a newer or broken replica?");
  };
  if (!Array.isArray(g)) bad();
  return (g as unknown[]).map((x): GateRecord => {
    if (!Array.isArray(x) || typeof x[0] !== 'string' || typeof x[1] !== 'number' || !STATES.includes(x[2]) || typeof x[3] !== 'string') bad();
    const [service, port, state, reason] = x as [string, number, GateRecord['state'], string];
    return { service, port, state, reason };
  });
}

/** Whether two records say the same per port (reasons aside: they follow the evidence and are no step). */
export function sameGate(a: readonly GateRecord[] | undefined, b: readonly GateRecord[] | undefined): boolean {
  const states = (r: readonly GateRecord[] | undefined): string => (r ?? []).map((x) => `${portKey(x.service, x.port)}=${x.state}`).sort().join(',');
  return states(a) === states(b);
}

/**
 * The gate's result for `desired` over `evidence`, started from what was recorded (see above): the model to
 * propose steps for, and the gate's word per STRICT port.
 */
export function replicatedGate(evidence: TrafficEvidenceView, desired: MeshModel, recorded: readonly GateRecord[] | undefined, inForce: RolloutState): GateResult {
  const allowed = new Set<string>();
  for (const r of recorded ?? []) if (r.state !== 'held') allowed.add(portKey(r.service, r.port));
  for (const [k, p] of inForce.ports) if (p.mode === 'STRICT') allowed.add(k);
  const notYet = new Map<string, Mode>();
  for (const s of desired.services) for (const ib of s.inbound) if (ib.mode === 'STRICT' && !allowed.has(portKey(s.name, ib.port))) notYet.set(portKey(s.name, ib.port), 'PERMISSIVE');
  const gate = new StrictGate(evidence);
  // The gate's first description is taken as is: give it the one whose STRICT ports are those allowed before.
  gate.apply(withModes(desired, { ports: notYet })).commit();
  return gate.apply(desired);
}

/** A held port's reason follows the evidence between decisions; forced and allowed ports keep the recorded one. */
function current(r: GateRecord, evidence: TrafficEvidenceView): { state: GateRecord['state']; reason: string; e: PortEvidence | undefined } {
  const e = evidence.port(r.service, r.port);
  return { state: r.state, reason: r.state === 'held' && e ? `held at PERMISSIVE by the STRICT gate: ${e.readinessReason}` : r.reason, e };
}

/** Rollout status with the recorded gate's word on every port it holds or forces (as Traffic.decorate does for one process). */
export function decorateReplicated(status: RolloutStatus, records: readonly GateRecord[] | undefined, evidence: TrafficEvidenceView): { ports: GatedPortRollout[] } {
  const byKey = new Map((records ?? []).map((r) => [portKeyOf(r.service, r.port), r]));
  return gatedRollout(status, (service, port) => {
    const r = byKey.get(portKeyOf(service, port));
    if (!r) return undefined;
    const { state, reason, e } = current(r, evidence);
    return { state, readiness: e?.readiness ?? 'no_evidence', reason, plaintextSources: e?.plaintextSources ?? [] };
  });
}

/** The shared evidence with the recorded gate's word on each port (for the dashboard). */
export function gatedEvidence(evidence: TrafficEvidenceView, records: () => readonly GateRecord[] | undefined): TrafficEvidenceView {
  const withGate = (e: PortEvidence): PortEvidence => {
    const r = (records() ?? []).find((x) => x.service === e.service && x.port === e.port);
    if (!r) return e;
    const strictGate: StrictGateState = { state: r.state, reason: current(r, evidence).reason };
    return { ...e, strictGate };
  };
  return {
    get windowMs() {
      return evidence.windowMs;
    },
    ports: () => evidence.ports().map(withGate),
    port: (service, port) => {
      const e = evidence.port(service, port);
      return e && withGate(e);
    },
    onChange: (l) => evidence.onChange(l),
  };
}
