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
import type { MeshModel, Mode } from '../mesh/model.js';
import { edgeKey, portKey, withModes } from '../rollout/with-modes.js';
import type { Readiness, SourceCount, TrafficEvidenceView } from './evidence-view.js';
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

export interface GateResult {
  /** The description with held ports at PERMISSIVE: what the rollout controller is given. */
  readonly model: MeshModel;
  /** One per port asked STRICT, in description order. */
  readonly decisions: readonly GateDecision[];
  /** Makes this the gate's state (which ports stay allowed); until then the gate is as it was. */
  commit(): void;
}

const NO_COUNTS = { mtls: 0, plaintext: 0, handshakeFailures: 0, rbacDenied: 0 };

export class StrictGate {
  /** Ports STRICT was allowed for and still asked STRICT: they stay allowed. */
  #allowed: ReadonlySet<string> = new Set<string>();
  #started = false;

  constructor(private readonly evidence: TrafficEvidenceView) {}

  /**
   * The model the rollout controller should head for, and why each STRICT port is where it is. Changes nothing
   * until commit(): a description the rollout then refuses leaves the gate as it was.
   */
  apply(desired: MeshModel): GateResult {
    const first = !this.#started;
    const was = this.#allowed;
    const allowed = new Set<string>();
    const decisions: GateDecision[] = [];
    const held = new Set<string>();
    for (const s of desired.services) {
      for (const ib of s.inbound) {
        if (ib.mode !== 'STRICT') continue;
        const key = portKey(s.name, ib.port);
        const e = this.evidence.port(s.name, ib.port);
        // Whether the port can send evidence is the description's word (it may have just changed); counts are the evidence's.
        const available = sendsEvidence(desired, s);
        const r = readinessOf(available, e?.window ?? NO_COUNTS, e?.plaintextSources ?? [], this.evidence.windowMs);
        const plaintextSources = e?.plaintextSources ?? [];
        let state: GateDecision['state'];
        let reason: string;
        if (ib.force) {
          state = 'forced';
          reason = r.readiness === 'ready' ? `STRICT forced (force: true); ready anyway: ${r.reason}` : `STRICT forced (force: true) over the STRICT gate: ${r.reason}`;
          allowed.add(key);
        } else if (first || was.has(key) || r.readiness === 'ready') {
          state = 'allowed';
          reason = first && !was.has(key) ? `STRICT as described at start (${r.reason})` : r.reason;
          allowed.add(key);
        } else {
          state = 'held';
          reason = `held at PERMISSIVE by the STRICT gate: ${r.reason}`;
          held.add(key);
        }
        decisions.push({ service: s.name, port: ib.port, state, readiness: r.readiness, reason, plaintextSources });
      }
    }
    return {
      model: held.size === 0 ? desired : holdAtPermissive(desired, held),
      decisions,
      commit: () => {
        this.#allowed = allowed;
        this.#started = true;
      },
    };
  }
}

/** The model with these ports (portKey) at PERMISSIVE, and their mesh clients told so. */
function holdAtPermissive(desired: MeshModel, held: ReadonlySet<string>): MeshModel {
  const ports = new Map<string, Mode>([...held].map((k) => [k, 'PERMISSIVE']));
  const serverModes = new Map<string, Mode>();
  for (const client of desired.services) {
    for (const dep of client.outbound) {
      if (dep.kind === 'service' && held.has(portKey(dep.service, dep.port)) && dep.serverMode === 'STRICT') {
        serverModes.set(edgeKey(client.name, dep.name), 'PERMISSIVE');
      }
    }
  }
  return withModes(desired, { ports, serverModes });
}
