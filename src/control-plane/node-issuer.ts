// Node attestation signs a key the node generated, so a node's private key never travels.
import type { KeyObject } from 'node:crypto';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import type { X509Bundle } from '../spiffe/bundle.js';
import { SpiffeId } from '../spiffe/id.js';
import type { NodeSvidIssuer } from '../xds/node-attest/node-svid-issuer.js';

/** `bundle`: what a joining node is told to trust (a replica's shared bundle; the CA's own by default). */
export function nodeSvidIssuer(ca: CertificateAuthority, bundle: () => X509Bundle = () => ca.bundle()): NodeSvidIssuer {
  return {
    signX509Svid(spiffeId: string, publicKey: KeyObject, opts: { ttlMs: number }) {
      const spki = publicKey.export({ type: 'spki', format: 'der' });
      const issued = ca.signX509Svid(SpiffeId.parse(spiffeId), spki, { ttlMs: opts.ttlMs });
      return { chain: issued.chain, notAfter: issued.notAfter };
    },
    bundle,
  };
}
