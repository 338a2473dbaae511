// What node attestation needs from the CA: a signature over a key the node generated, so a node's private key
// never travels. (CertificateAuthority.mintX509Svid generates the key itself; the lead adapts the CA to this.)
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { X509Bundle } from '../../spiffe/bundle.js';

export interface NodeSvidIssuer {
  signX509Svid(
    spiffeId: string,
    publicKey: KeyObject,
    opts: { ttlMs: number },
  ): Promise<{ chain: readonly X509Certificate[]; notAfter: Date }> | { chain: readonly X509Certificate[]; notAfter: Date };
  /** The own trust domain's bundle as published now. */
  bundle(): X509Bundle;
}

/** Node SVIDs are short-lived: a node renews over mTLS long before expiry, and a stolen one ages out quickly. */
export const DEFAULT_NODE_SVID_TTL_MS = 60 * 60 * 1000;
