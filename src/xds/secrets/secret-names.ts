// The SDS secret names trustplane understands, compatible with SPIRE's SDS so Envoy configs written for SPIRE
// work unchanged. Pure: a name maps to what it stands for, nothing is looked up here.
import { SpiffeId } from '../../spiffe/id.js';

export const DEFAULT_SECRET = 'default';
export const ROOTCA_SECRET = 'ROOTCA';
export const ALL_SECRET = 'ALL';

export type SecretName =
  /** An X.509-SVID: tls_certificate with chain and key. */
  | { readonly kind: 'svid'; readonly spiffeId: string }
  /** The caller's default identity, decided by the policy. */
  | { readonly kind: 'default' }
  /** A validation context for one trust domain; ROOTCA is the own trust domain. */
  | { readonly kind: 'bundle'; readonly trustDomain: string | 'own' }
  /** One validation context holding every trust domain. */
  | { readonly kind: 'all' }
  | { readonly kind: 'invalid'; readonly reason: string };

export function parseSecretName(name: string): SecretName {
  if (name === DEFAULT_SECRET) return { kind: 'default' };
  if (name === ROOTCA_SECRET) return { kind: 'bundle', trustDomain: 'own' };
  if (name === ALL_SECRET) return { kind: 'all' };
  let id: SpiffeId;
  try {
    id = SpiffeId.parse(name);
  } catch (e) {
    return {
      kind: 'invalid',
      reason: `secret name ${JSON.stringify(name)} is not ${DEFAULT_SECRET}, ${ROOTCA_SECRET}, ${ALL_SECRET}, a SPIFFE ID or a trust domain ID (${(e as Error).message})`,
    };
  }
  if (id.path === '') return { kind: 'bundle', trustDomain: id.trustDomain.name };
  return { kind: 'svid', spiffeId: id.toString() };
}
