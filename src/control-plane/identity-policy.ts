// Who may receive which identity, as the current mesh description says. The mesh is swapped on reload, so the
// policy reads it through a getter instead of holding a copy.
import type { Node } from '#gen/envoy/config/core/v3/base_pb';
import type { MeshModel } from '../mesh/index.js';
import type { IdentityPolicy } from '../xds/policy.js';
import type { NodePrincipal } from '../xds/principal.js';

export class MeshIdentityPolicy implements IdentityPolicy {
  constructor(private readonly mesh: () => MeshModel) {}

  mayReceive(principal: NodePrincipal, spiffeId: string): boolean {
    // trustplane's own identities (server, nodes) are never served, whatever a description says.
    if (new URL(spiffeId).pathname.startsWith('/trustplane/')) return false;
    if (principal.kind === 'insecure') return true;
    return this.mesh().servicesForPrincipal(principal).some((s) => s.spiffeId.toString() === spiffeId);
  }

  /**
   * The service the node says it runs (node.cluster), when the principal may hold it; with no cluster, the
   * principal's one service. Anything else has no default: better a left-out secret than another service's key.
   */
  defaultIdentity(principal: NodePrincipal, node: Node): string | undefined {
    const mesh = this.mesh();
    if (node.cluster) {
      const service = mesh.serviceByName(node.cluster);
      return service && this.mayReceive(principal, service.spiffeId.toString()) ? service.spiffeId.toString() : undefined;
    }
    if (principal.kind === 'insecure') return undefined;
    const allowed = mesh.servicesForPrincipal(principal);
    return allowed.length === 1 ? allowed[0]!.spiffeId.toString() : undefined;
  }
}
