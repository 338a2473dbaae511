// Which node principal may receive which identity. The server asks this for every SPIFFE ID a stream names and
// for the target of `default`; the production implementation comes from the mesh description.
import type { NodePrincipal } from './principal.js';
import type { NodeView } from './protocol/resolution.js';

export interface IdentityPolicy {
  /** Whether this principal may receive the private key of this SPIFFE ID. Never asked for `insecure`. */
  mayReceive(principal: NodePrincipal, spiffeId: string): boolean;
  /** The SPIFFE ID that the secret name `default` stands for on this caller's streams, if any. */
  defaultIdentity(principal: NodePrincipal, node: NodeView): string | undefined;
  /**
   * Whether this principal may receive the listeners, clusters, routes and endpoints of a resource group (a
   * service: node.cluster names it, and nothing authenticates node.cluster). Absent: every group is open.
   */
  mayReadGroup?(principal: NodePrincipal, group: string): boolean;
}

export interface IdentityGrant {
  readonly spiffeId: string;
  readonly principals: readonly NodePrincipal[];
}

export function samePrincipal(a: NodePrincipal, b: NodePrincipal): boolean {
  switch (a.kind) {
    case 'uid':
      return b.kind === 'uid' && a.uid === b.uid;
    case 'node':
      return b.kind === 'node' && a.name === b.name;
    case 'insecure':
      return b.kind === 'insecure';
  }
}

/** A fixed table of grants; `default` is the first identity granted to the principal. */
export class TableIdentityPolicy implements IdentityPolicy {
  constructor(private readonly grants: readonly IdentityGrant[]) {}

  mayReceive(principal: NodePrincipal, spiffeId: string): boolean {
    return this.grants.some((g) => g.spiffeId === spiffeId && g.principals.some((p) => samePrincipal(p, principal)));
  }

  defaultIdentity(principal: NodePrincipal): string | undefined {
    return this.grants.find((g) => g.principals.some((p) => samePrincipal(p, principal)))?.spiffeId;
  }
}
