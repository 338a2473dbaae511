// `--identity-source`: `embedded-ca` (the default) or `workload-api:<address>`, where the address is a Workload
// Endpoint URI (unix:///run/spire/sockets/agent.sock, tcp://127.0.0.1:8081).
import { TrustplaneError } from '../errors.js';
import { parseWorkloadApiAddress, type WorkloadApiAddress } from '../workload-api/address.js';

export type IdentitySourceSpec = { readonly kind: 'embedded-ca' } | { readonly kind: 'workload-api'; readonly address: WorkloadApiAddress };

export function parseIdentitySourceSpec(s: string, what = '--identity-source'): IdentitySourceSpec {
  if (s === 'embedded-ca') return { kind: 'embedded-ca' };
  const prefix = 'workload-api:';
  if (s.startsWith(prefix)) return { kind: 'workload-api', address: parseWorkloadApiAddress(s.slice(prefix.length), what) };
  throw new TrustplaneError('IDENTITY_SOURCE_INVALID', `${what} "${s}": expected embedded-ca or workload-api:unix:///path/to/agent.sock`);
}
