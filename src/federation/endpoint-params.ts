// The parameters of one federation relationship (SPIFFE Federation §5.1, §5.2.2.2): the foreign trust domain, the
// endpoint URL, the profile, and for https_spiffe the endpoint's SPIFFE ID. All explicit, none inferred from another
// (§7.2). A relationship is "self-serving" when the endpoint's SPIFFE ID is in the trust domain being fetched.
import type { SpiffeId } from '../spiffe/id.js';
import type { TrustDomain } from '../spiffe/trust-domain.js';
import type { EndpointProfile } from './endpoint-server.js';

export interface BundleEndpointParams {
  readonly trustDomain: TrustDomain;
  readonly url: string;
  readonly profile: EndpointProfile;
  /** https_spiffe only. */
  readonly endpointSpiffeId?: SpiffeId;
}

export function isSelfServing(p: BundleEndpointParams): boolean {
  return p.profile === 'https_spiffe' && !!p.endpointSpiffeId?.memberOf(p.trustDomain);
}

/** Equal parameters mean the same relationship: a reload keeps its state and schedule. */
export function paramsKey(p: BundleEndpointParams): string {
  return JSON.stringify([p.trustDomain.name, p.url, p.profile, p.endpointSpiffeId?.toString() ?? null]);
}
