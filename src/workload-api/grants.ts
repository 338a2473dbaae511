// Which identities a Workload API caller receives: exactly those the mesh description's `nodes:` lets its
// principal hold (the same rule as SDS, so one description decides both), default identity first.
import type { MeshModel } from '../mesh/index.js';
import type { IdentityPolicy } from '../xds/policy.js';
import type { NodePrincipal } from '../xds/principal.js';

export interface WorkloadGrants {
  /** The SPIFFE IDs this caller may hold, its default identity first; empty when it may hold none. */
  identitiesOf(principal: NodePrincipal): readonly string[];
}

/** The services `nodes:` gives the principal, in description order (the first is the default identity). */
export function meshWorkloadGrants(mesh: () => MeshModel, policy: IdentityPolicy): WorkloadGrants {
  return {
    identitiesOf(principal) {
      // The Workload API has no insecure mode: every caller is attested by its socket.
      if (principal.kind === 'insecure') return [];
      const ids = mesh()
        .servicesForPrincipal(principal)
        .map((s) => s.spiffeId.toString())
        .filter((id) => policy.mayReceive(principal, id));
      return [...new Set(ids)];
    },
  };
}
