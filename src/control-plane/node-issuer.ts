// Node attestation signs a key the node generated, so a node's private key never travels.
import type { KeyObject } from 'node:crypto';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import { SpiffeId } from '../spiffe/id.js';
import type { NodeSvidIssuer } from '../xds/node-attest/node-svid-issuer.js';

export function nodeSvidIssuer(ca: CertificateAuthority): NodeSvidIssuer {
  return {
    signX509Svid(spiffeId: string, publicKey: KeyObject, opts: { ttlMs: number }) {
      const spki = publicKey.export({ type: 'spki', format: 'der' });
      const issued = ca.signX509Svid(SpiffeId.parse(spiffeId), spki, { ttlMs: opts.ttlMs });
      return { chain: issued.chain, notAfter: issued.notAfter };
    },
    bundle: () => ca.bundle(),
  };
}
