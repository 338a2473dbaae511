// The transport decides who is calling; the protocol server decides what that caller may fetch. This module is
// the only thing the two share, so the protocol side never needs to know about sockets or certificates.
// @grpc/grpc-js 1.14 does not re-export ServerSurfaceCall from its index (the contract's `grpc.ServerSurfaceCall`);
// it is the common part of every server call type (unary, streaming, duplex), so take it from where it is declared.
import type { ServerSurfaceCall } from '@grpc/grpc-js/build/src/server-call.js';

export type { ServerSurfaceCall };

/** Who is on the other end of an xDS stream, as established by the transport. */
export type NodePrincipal =
  | { readonly kind: 'uid'; readonly uid: number } // Unix socket, peer credentials
  | { readonly kind: 'node'; readonly name: string } // TCP mTLS with a node SVID, or a per-workload socket
  | { readonly kind: 'insecure' }; // explicit development flag: authorization off

export interface CallAuthenticator {
  /** The principal of a call, or undefined when it has none (the server answers PERMISSION_DENIED). */
  authenticate(call: ServerSurfaceCall): NodePrincipal | undefined;
}

/** "uid:1001" | "node:orders-1" | "insecure" */
export function principalToString(p: NodePrincipal): string {
  switch (p.kind) {
    case 'uid':
      return `uid:${p.uid}`;
    case 'node':
      return `node:${p.name}`;
    case 'insecure':
      return 'insecure';
  }
}
