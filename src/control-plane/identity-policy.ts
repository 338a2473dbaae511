// Who may receive which identity, as the current mesh description says. The mesh is swapped on reload, so the
// policy reads it through a getter instead of holding a copy.
import type { Node } from '#gen/envoy/config/core/v3/base_pb';
import type { MeshModel } from '../mesh/index.js';
import type { IdentityPolicy } from '../xds/policy.js';
import type { NodePrincipal } from '../xds/principal.js';

export class MeshIdentityPolicy implements IdentityPolicy {
  constructor(private readonly mesh: () => MeshModel) {}

  mayReceive(principal: NodePrincipal, spiffeId: string): boolean {
    if (principal.kind === 'insecure') return true;
    return this.mesh().servicesForPrincipal(principal).some((s) => s.spiffeId.toString() === spiffeId);
  }

  /** The service the node says it runs (node.cluster), when the principal may hold it; else its first service. */
  defaultIdentity(principal: NodePrincipal, node: Node): string | undefined {
    const mesh = this.mesh();
    if (principal.kind === 'insecure') return mesh.serviceByName(node.cluster)?.spiffeId.toString();
    const allowed = mesh.servicesForPrincipal(principal);
    return (allowed.find((s) => s.name === node.cluster) ?? allowed[0])?.spiffeId.toString();
  }
}
