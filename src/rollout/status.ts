// What `trustplane rollout status` shows: per service and port, the mode asked for, the mode in force, and what
// the rollout waits for. Plain JSON (the admin endpoint serves it as is); built by a pure function.
import type { Mode } from '../mesh/model.js';
import type { AckProgress, Nack } from './acks.js';
import type { PortPlan, Transport } from './plan.js';
import type { RolloutState } from './state-machine.js';

export interface ProxyCount {
  readonly connected: number;
  readonly acked: number;
  readonly nacked: readonly Nack[];
}

export interface ClientRollout {
  readonly client: string;
  readonly cluster: string;
  readonly wanted: Transport;
  readonly inForce: Transport;
  /** The client's proxies on the cluster version in force. */
  readonly proxies: ProxyCount;
}

export interface PortRollout {
  readonly service: string;
  readonly port: number;
  readonly listener: string;
  readonly asked: Mode;
  readonly inForce: Mode;
  /** The server's proxies on the listener version in force. */
  readonly proxies: ProxyCount;
  readonly clients: readonly ClientRollout[];
  /** True when the port and every client are where the description asks and every connected proxy ACKed it. */
  readonly done: boolean;
  /** Sentences, most blocking first; empty when done. */
  readonly waitingFor: readonly string[];
}

export interface RolloutStatus {
  readonly ports: readonly PortRollout[];
}

export interface StatusInputs {
  readonly plans: readonly PortPlan[];
  readonly state: RolloutState;
  portProgress(plan: PortPlan): AckProgress;
  edgeProgress(plan: PortPlan, edge: PortPlan['edges'][number]): AckProgress;
}

const count = (p: AckProgress): ProxyCount => ({ connected: p.connected.length, acked: p.acked.length, nacked: p.nacked });
const unsettled = (c: ProxyCount): boolean => c.acked < c.connected;
const transportName = (t: Transport): string => (t === 'mtls' ? 'mTLS' : 'plaintext');
const list = (names: readonly string[]): string => names.join(', ');

export function buildRolloutStatus(inputs: StatusInputs): RolloutStatus {
  const ports: PortRollout[] = [];
  for (const plan of inputs.plans) {
    const inForce = inputs.state.ports.get(plan.key)?.mode ?? plan.target;
    const proxies = count(inputs.portProgress(plan));
    const clients: ClientRollout[] = plan.edges.map((e) => ({
      client: e.client,
      cluster: e.cluster,
      wanted: e.wanted,
      inForce: inputs.state.edges.get(e.key)?.transport ?? e.wanted,
      proxies: count(inputs.edgeProgress(plan, e)),
    }));

    const waitingFor: string[] = [];
    if (unsettled(proxies)) {
      waitingFor.push(`waiting for ${proxies.connected - proxies.acked} of ${proxies.connected} proxies of ${plan.service} to ACK listener ${plan.listener} (${inForce})`);
      for (const n of proxies.nacked) waitingFor.push(`${n.nodeId || `stream ${n.streamId}`} of ${plan.service} NACKed listener ${plan.listener} (${inForce}): ${n.message}`);
    }
    for (const t of ['mtls', 'plaintext'] as const) {
      const behind = clients.filter((c) => c.inForce === t && unsettled(c.proxies));
      if (behind.length === 0) continue;
      const names = behind.map((c) => c.client);
      waitingFor.push(`waiting for ${names.length === 1 ? 'client' : 'clients'} ${list(names)} to ACK their ${transportName(t)} cluster to ${plan.service}`);
      for (const c of behind) {
        for (const n of c.proxies.nacked) waitingFor.push(`${n.nodeId || `stream ${n.streamId}`} of ${c.client} NACKed cluster ${c.cluster} (${transportName(t)}): ${n.message}`);
      }
    }
    if (plan.plaintextClients.length > 0) {
      waitingFor.push(
        `held at PERMISSIVE: ${plan.plaintextClients.length === 1 ? 'client' : 'clients'} ${list(plan.plaintextClients)} ` +
          `call in plaintext (their own mode is DISABLE; lint TP0003); STRICT would refuse them`,
      );
    }
    // A step the next evaluation will take (nothing left to wait for) is shown as such, not as done.
    const atTarget = inForce === plan.asked && clients.every((c) => c.inForce === c.wanted);
    if (waitingFor.length === 0 && !atTarget) waitingFor.push('next step due at the next evaluation');
    ports.push({
      service: plan.service,
      port: plan.port,
      listener: plan.listener,
      asked: plan.asked,
      inForce,
      proxies,
      clients,
      done: waitingFor.length === 0,
      waitingFor,
    });
  }
  return { ports };
}
