// From the modes in force to the effective mesh model the generator is fed. Pure.
import type { MeshModel, Mode } from '../mesh/model.js';
import type { PortPlan } from './plan.js';
import type { RolloutState } from './state-machine.js';
import { edgeKey, withModes, type ModeOverrides } from './with-modes.js';

/**
 * Overrides that make the generator emit exactly the state: each port's listener at its mode in force, and each
 * client's cluster with or without mTLS as its edge is in force. A client's view of its server's mode is the
 * server's mode in force when it calls with mTLS, DISABLE when it calls in plaintext.
 */
export function overridesFor(desired: MeshModel, plans: readonly PortPlan[], state: RolloutState): ModeOverrides {
  const ports = new Map<string, Mode>();
  const serverModes = new Map<string, Mode>();
  const serviceModes = new Map<string, Mode>();
  const mtlsClients = new Set<string>();
  for (const plan of plans) {
    const port = state.ports.get(plan.key);
    if (!port) continue;
    ports.set(plan.key, port.mode);
    for (const e of plan.edges) {
      const edge = state.edges.get(e.key);
      if (!edge) continue;
      if (edge.transport === 'mtls') {
        serverModes.set(e.key, port.mode);
        if (e.clientMode === 'DISABLE') mtlsClients.add(e.client);
      } else {
        serverModes.set(e.key, 'DISABLE');
      }
    }
  }
  // A client moving to DISABLE that still has an edge held at mTLS: its own mode stays PERMISSIVE for the
  // generator, and its external dependencies are pinned to plaintext as it asked (its other mesh
  // edges are pinned by their own state above).
  for (const name of mtlsClients) {
    serviceModes.set(name, 'PERMISSIVE');
    for (const dep of desired.serviceByName(name)?.outbound ?? []) {
      if (dep.kind === 'external') serverModes.set(edgeKey(name, dep.name), 'DISABLE');
    }
  }
  return { ports, serverModes, serviceModes };
}

export function effectiveModel(desired: MeshModel, plans: readonly PortPlan[], state: RolloutState): MeshModel {
  return withModes(desired, overridesFor(desired, plans, state));
}
