// A listener whose every caller is known in advance: the insecure development flag, or a per-workload Unix socket
// whose file permissions admit only that workload.
import type { CallAuthenticator, NodePrincipal } from '../principal.js';

export function fixedAuthenticator(principal: NodePrincipal): CallAuthenticator {
  return { authenticate: () => principal };
}

export const insecureAuthenticator: CallAuthenticator = fixedAuthenticator({ kind: 'insecure' });
