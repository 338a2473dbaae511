// Who may receive which identity, as the current mesh description says. The mesh is swapped on reload, so the
// policy reads it through a getter instead of holding a copy.
import type { Node } from '#gen/envoy/config/core/v3/base_pb';
import { parsePrincipal, type MeshModel } from '../mesh/index.js';
import { isTrustplaneId } from '../trustplane-ids.js';
import type { IdentityPolicy } from '../xds/policy.js';
import type { NodePrincipal } from '../xds/principal.js';

/** The principal of a proxy status entry ("uid:1001", "node:edge-1", "insecure"). */
export function parsePrincipalString(s: string): NodePrincipal | undefined {
  if (s === 'insecure') return { kind: 'insecure' };
  const r = parsePrincipal(s);
  return 'principal' in r ? r.principal : undefined;
}

export class MeshIdentityPolicy implements IdentityPolicy {
  constructor(private readonly mesh: () => MeshModel) {}

  mayReceive(principal: NodePrincipal, spiffeId: string): boolean {
    // trustplane's own identities (server, nodes) are never served, whatever a description says.
    if (isTrustplaneId(spiffeId)) return false;
    if (principal.kind === 'insecure') return true;
    return this.mesh().servicesForPrincipal(principal).some((s) => s.spiffeId.toString() === spiffeId);
  }

  /** A service's listeners and clusters go to the nodes that may hold its identity. */
  mayReadGroup(principal: NodePrincipal, group: string): boolean {
    const service = this.mesh().serviceByName(group);
    return service === undefined || this.mayReceive(principal, service.spiffeId.toString());
  }

  /**
   * The service the node says it runs (node.cluster), when the principal may hold it; otherwise, whatever
   * node.cluster says, the principal's one identity, as SPIRE resolves `default` to the workload's identity (so a
   * bootstrap written for SPIRE with any --service-cluster works). Several identities and no matching cluster is
   * ambiguous: no default, better a left-out secret than the wrong service's key.
   */
  defaultIdentity(principal: NodePrincipal, node: Node): string | undefined {
    const mesh = this.mesh();
    if (node.cluster) {
      const service = mesh.serviceByName(node.cluster);
      if (service && this.mayReceive(principal, service.spiffeId.toString())) return service.spiffeId.toString();
    }
    if (principal.kind === 'insecure') return undefined;
    const allowed = mesh.servicesForPrincipal(principal);
    return allowed.length === 1 ? allowed[0]!.spiffeId.toString() : undefined;
  }
}
