// The rollout state machine: which modes are in force, and when each may take its next step. Pure: whether a
// step has been ACKed is an input (acks.ts reads it from the proxy status).
//
// Two things are held per server port: the port's mode in force on the server's proxies (its inbound listener),
// and, per client of that port, the transport in force on the client's proxies (its outbound cluster). A change
// that only ADDS what a port accepts is safe at once; a change that REMOVES something waits until nobody can
// still be using it, i.e. until the change that moved everyone off it has been ACKed (istio#48290 is what
// happens otherwise: clients send mTLS to servers that do not accept it yet).
//
//   who     in force     heading to         next         only when
//   ------  -----------  -----------------  -----------  -----------------------------------------------------------
//   server  DISABLE      PERMISSIVE/STRICT  PERMISSIVE   always (adds the TLS chain; plaintext still accepted)
//   server  STRICT       PERMISSIVE/DISABLE PERMISSIVE   always (adds the plaintext chain; mTLS still accepted)
//   server  PERMISSIVE   STRICT             STRICT       the server's proxies ACKed the PERMISSIVE listener, and every
//                                                         client is on mTLS and its proxies ACKed that cluster
//   server  PERMISSIVE   DISABLE            DISABLE      every client is on plaintext and its proxies ACKed that cluster
//                                                         (not the server's own ACK: the way back from a NACKed
//                                                         PERMISSIVE listener must stay open)
//   client  plaintext    mtls               mtls         the server is PERMISSIVE or STRICT in force and its proxies
//                                                         ACKed that listener
//   client  mtls         plaintext          plaintext    the server is PERMISSIVE in force and its proxies ACKed it
//
// So DISABLE → STRICT runs: server PERMISSIVE; (ACK) clients mTLS; (ACKs) server STRICT. STRICT → DISABLE runs:
// server PERMISSIVE; (ACK) clients plaintext; (ACKs) server DISABLE. A server's mode moves one step per
// evaluation; every guard is read from the state before the evaluation, so steps taken together never race.
// "ACKed" means by every proxy of that service connected now; proxies that are not connected are not waited for,
// because a proxy that connects later receives the effective configuration as a whole.
//
// What is new starts where it is safe: on the first description everything starts at its target (trustplane has
// no record of what proxies held before, and each receives the whole effective configuration when it connects);
// a port added later starts at its target; a client dependency added later starts at the transport its server
// accepts now (both the mode in force and, until that is ACKed, the mode before it).
import type { Mode } from '../mesh/model.js';
import type { PortPlan, Transport } from './plan.js';

export interface PortInForce {
  readonly mode: Mode;
  /** The mode before the latest step: what a proxy that has not ACKed that step may still hold. */
  readonly previous?: Mode;
}

export interface EdgeInForce {
  readonly transport: Transport;
  /** The server port the edge was planned against; a dependency moved to another port starts afresh. */
  readonly server: string;
  readonly port: number;
}

export interface RolloutState {
  readonly ports: ReadonlyMap<string, PortInForce>;
  readonly edges: ReadonlyMap<string, EdgeInForce>;
}

/** Whether the proxies connected now have ACKed what is in force (by port key and by edge key). */
export interface Settled {
  port(key: string): boolean;
  edge(key: string): boolean;
}

export const accepts = (mode: Mode, t: Transport): boolean => (t === 'mtls' ? mode !== 'DISABLE' : mode !== 'STRICT');

/** The transports a port is sure to accept on every connected proxy of its server. */
function safeTransports(p: PortInForce, settled: boolean): Transport[] {
  return (['mtls', 'plaintext'] as const).filter((t) => accepts(p.mode, t) && (settled || p.previous === undefined || accepts(p.previous, t)));
}

function serverStep(plan: PortPlan, cur: PortInForce, state: RolloutState, settled: Settled): PortInForce {
  if (cur.mode === plan.target) return cur;
  if (cur.mode !== 'PERMISSIVE') return { mode: 'PERMISSIVE', previous: cur.mode };
  // Leaving PERMISSIVE removes a transport: only once every client has moved off it and ACKed that.
  const keep: Transport = plan.target === 'STRICT' ? 'mtls' : 'plaintext';
  if (plan.target === 'STRICT' && !settled.port(plan.key)) return cur;
  const ready = plan.edges.every((e) => state.edges.get(e.key)?.transport === keep && settled.edge(e.key));
  return ready ? { mode: plan.target, previous: cur.mode } : cur;
}

function edgeStep(wanted: Transport, cur: EdgeInForce, port: PortInForce, portSettled: boolean): EdgeInForce {
  if (cur.transport === wanted) return cur;
  return portSettled && accepts(port.mode, wanted) ? { ...cur, transport: wanted } : cur;
}

/** The first state for a description: everything at its target. */
export function initialState(plans: readonly PortPlan[]): RolloutState {
  const ports = new Map<string, PortInForce>();
  const edges = new Map<string, EdgeInForce>();
  for (const p of plans) {
    ports.set(p.key, { mode: p.target });
    for (const e of p.edges) edges.set(e.key, { transport: e.wanted, server: e.server, port: e.port });
  }
  return { ports, edges };
}

/**
 * One evaluation: every step the table allows, taken together. Ports and edges that left the description are
 * dropped; new ones start as the header says.
 */
export function advance(plans: readonly PortPlan[], state: RolloutState, settled: Settled): RolloutState {
  const ports = new Map<string, PortInForce>();
  const edges = new Map<string, EdgeInForce>();
  for (const plan of plans) {
    const next = stepPort(plan, state, settled);
    ports.set(plan.key, next.port);
    plan.edges.forEach((e, i) => edges.set(e.key, next.edges[i]!));
  }
  return { ports, edges };
}

/** One port's next step and its edges' (in plan order), read from `state` alone: ports step independently. */
export function stepPort(plan: PortPlan, state: RolloutState, settled: Settled): { readonly port: PortInForce; readonly edges: readonly EdgeInForce[] } {
  const cur = state.ports.get(plan.key);
  if (!cur) return { port: { mode: plan.target }, edges: plan.edges.map((e) => ({ transport: e.wanted, server: e.server, port: e.port })) };
  const portSettled = settled.port(plan.key);
  const port = serverStep(plan, cur, state, settled);
  const edges = plan.edges.map((e): EdgeInForce => {
    const had = state.edges.get(e.key);
    if (had && had.server === e.server && had.port === e.port) return edgeStep(e.wanted, had, cur, portSettled);
    const safe = safeTransports(cur, portSettled);
    return { transport: safe.includes(e.wanted) ? e.wanted : safe[0]!, server: e.server, port: e.port };
  });
  return { port, edges };
}

/** Whether a port and its clients are where its plan heads (no step can change them). */
export function atTarget(plan: PortPlan, state: RolloutState): boolean {
  if (state.ports.get(plan.key)?.mode !== plan.target) return false;
  for (const e of plan.edges) {
    const edge = state.edges.get(e.key);
    if (edge?.transport !== e.wanted || edge.server !== e.server || edge.port !== e.port) return false;
  }
  return true;
}

export function sameState(a: RolloutState, b: RolloutState): boolean {
  if (a.ports.size !== b.ports.size || a.edges.size !== b.edges.size) return false;
  for (const [k, p] of a.ports) if (b.ports.get(k)?.mode !== p.mode) return false;
  for (const [k, e] of a.edges) {
    const o = b.edges.get(k);
    if (!o || o.transport !== e.transport || o.server !== e.server || o.port !== e.port) return false;
  }
  return true;
}
