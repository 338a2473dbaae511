// Node SVIDs issued by any replica are recorded in the shared datastore (serial, node, which replica, expiry), so
// that an operator sees every node's SVIDs wherever it attested, and an issuance is either recorded or refused.
import type { Clock } from '../clock.js';
import type { Datastore } from '../datastore/index.js';
import type { NodeSvidIssuer } from '../xds/node-attest/node-svid-issuer.js';

export function recordingNodeSvidIssuer(inner: NodeSvidIssuer, o: { datastore: Datastore; replica: string; clock: Clock }): NodeSvidIssuer {
  return {
    async signX509Svid(spiffeId, publicKey, opts) {
      const svid = await inner.signX509Svid(spiffeId, publicKey, opts);
      const leaf = svid.chain[0]!;
      // Refused when it cannot be recorded: attestation then gives the join token back and the node may retry.
      await o.datastore.recordNodeSvid({
        serial: leaf.serialNumber.toUpperCase(),
        node: spiffeId.slice(spiffeId.lastIndexOf('/') + 1),
        replica: o.replica,
        notAfter: svid.notAfter.getTime(),
        issuedAt: o.clock.now(),
      });
      return svid;
    },
    bundle: () => inner.bundle(),
  };
}
