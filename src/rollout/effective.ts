// From the modes in force to the effective mesh model the generator is fed. Pure.
import type { MeshModel, Mode, Service } from '../mesh/model.js';
import type { PortPlan } from './plan.js';
import type { RolloutState } from './state-machine.js';
import { deriveService, edgeKey, portKey, withModes, type ModeOverrides } from './with-modes.js';

/**
 * Overrides that make the generator emit exactly the state for one service: each of its ports' listener at its
 * mode in force, and each of its clusters with or without mTLS as its edge is in force. A client's view of its
 * server's mode is the server's mode in force when it calls with mTLS, DISABLE when it calls in plaintext.
 * Only what differs from the description is set (an override equal to it changes nothing, with-modes.ts), and a
 * map is made only when something is set: most services of a settled mesh need none, and cost no allocation.
 */
export function serviceOverrides(s: Service, state: RolloutState): ModeOverrides {
  let ports: Map<string, Mode> | undefined;
  let serverModes: Map<string, Mode> | undefined;
  for (const ib of s.inbound) {
    const key = portKey(s.name, ib.port);
    const port = state.ports.get(key);
    if (port && port.mode !== ib.mode) (ports ??= new Map()).set(key, port.mode);
  }
  let heldAtMtls = false;
  for (const dep of s.outbound) {
    if (dep.kind !== 'service') continue;
    const key = edgeKey(s.name, dep.name);
    const edge = state.edges.get(key);
    const port = state.ports.get(portKey(dep.service, dep.port));
    if (!edge || !port) continue;
    let seen: Mode;
    if (edge.transport === 'mtls') {
      seen = port.mode;
      if (s.mode === 'DISABLE') heldAtMtls = true;
    } else {
      seen = 'DISABLE';
    }
    if (seen !== dep.serverMode) (serverModes ??= new Map()).set(key, seen);
  }
  // A client moving to DISABLE that still has an edge held at mTLS: its own mode stays PERMISSIVE for the
  // generator, and its external dependencies are pinned to plaintext as it asked (its other mesh
  // edges are pinned by their own state above).
  if (!heldAtMtls) return ports || serverModes ? { ...(ports ? { ports } : {}), ...(serverModes ? { serverModes } : {}) } : NO_OVERRIDES;
  for (const dep of s.outbound) if (dep.kind === 'external' && dep.serverMode !== 'DISABLE') (serverModes ??= new Map()).set(edgeKey(s.name, dep.name), 'DISABLE');
  return { ...(ports ? { ports } : {}), ...(serverModes ? { serverModes } : {}), serviceModes: new Map([[s.name, 'PERMISSIVE']]) };
}

const NO_OVERRIDES: ModeOverrides = Object.freeze({});

/** The service as the generator should see it with `state` in force (itself when nothing is held back). */
export function effectiveService(s: Service, state: RolloutState): Service {
  return serviceWith(s, serviceOverrides(s, state));
}

/** The service with overrides that serviceOverrides made (for it, or for a service it reads the same of). */
export function serviceWith(s: Service, overrides: ModeOverrides): Service {
  return overrides === NO_OVERRIDES ? s : deriveService(s, overrides);
}

/**
 * Whether serviceOverrides reads the same of `b` as of `a` (so that, with the same state in force, b's overrides
 * are a's): the fields it reads, and nothing else. Kept beside serviceOverrides: a field it comes to read joins here.
 */
export function sameOverrideInputs(a: Service, b: Service): boolean {
  if (a === b) return true;
  if (a.name !== b.name || a.mode !== b.mode || a.inbound.length !== b.inbound.length || a.outbound.length !== b.outbound.length) return false;
  for (let i = 0; i < a.inbound.length; i++) {
    const x = a.inbound[i]!;
    const y = b.inbound[i]!;
    if (x !== y && (x.port !== y.port || x.mode !== y.mode)) return false;
  }
  for (let i = 0; i < a.outbound.length; i++) {
    const x = a.outbound[i]!;
    const y = b.outbound[i]!;
    if (x === y) continue;
    if (x.kind !== y.kind || x.name !== y.name || x.serverMode !== y.serverMode) return false;
    if (x.kind === 'service' && y.kind === 'service' && (x.service !== y.service || x.port !== y.port)) return false;
  }
  return true;
}

/** Every service's overrides at once. */
export function overridesFor(desired: MeshModel, _plans: readonly PortPlan[], state: RolloutState): ModeOverrides {
  const ports = new Map<string, Mode>();
  const serverModes = new Map<string, Mode>();
  const serviceModes = new Map<string, Mode>();
  for (const s of desired.services) {
    const o = serviceOverrides(s, state);
    for (const [k, m] of o.ports ?? []) ports.set(k, m);
    for (const [k, m] of o.serverModes ?? []) serverModes.set(k, m);
    for (const [k, m] of o.serviceModes ?? []) serviceModes.set(k, m);
  }
  return { ports, serverModes, serviceModes };
}

export function effectiveModel(desired: MeshModel, plans: readonly PortPlan[], state: RolloutState): MeshModel {
  return withModes(desired, overridesFor(desired, plans, state));
}
