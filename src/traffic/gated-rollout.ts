// Rollout status with the STRICT gate's word on each port it decided: one rule for a single server (traffic.ts,
// its own gate) and for replicas (src/replica/replicated-gate.ts, the gate their leader recorded). A held port is
// shown as asked STRICT, not done, waiting first for the gate's reason; a forced one says why it went ahead.
import type { RolloutStatus } from '../rollout/status.js';
import type { GateDecision } from './gate.js';

/** What the gate says of a port, as status pages show it. */
export type GateWord = Pick<GateDecision, 'state' | 'readiness' | 'reason' | 'plaintextSources'>;

/** A port of rollout status, with what the STRICT gate decided when the description asks STRICT for it. */
export type GatedPortRollout = RolloutStatus['ports'][number] & { readonly strictGate?: GateWord };

/** `wordOf` answers for the ports the gate decided (undefined for the others). */
export function gatedRollout(status: RolloutStatus, wordOf: (service: string, port: number) => GateWord | undefined): { ports: GatedPortRollout[] } {
  return {
    ...status,
    ports: status.ports.map((p): GatedPortRollout => {
      const w = wordOf(p.service, p.port);
      if (!w) return p;
      const strictGate: GateWord = { state: w.state, readiness: w.readiness, reason: w.reason, plaintextSources: w.plaintextSources };
      if (w.state === 'held') return { ...p, asked: 'STRICT', done: false, waitingFor: [w.reason, ...p.waitingFor.filter((x) => x !== 'next step due at the next evaluation')], strictGate };
      if (w.state === 'forced') return { ...p, waitingFor: [...p.waitingFor, w.reason], strictGate };
      return { ...p, strictGate };
    }),
  };
}
