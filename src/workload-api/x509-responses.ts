// What the X.509-SVID profile sends, built from the identity store (pure: no I/O, no clock). Every response is the
// full state (Workload API §4.3); bundles are the DER certificates concatenated and keyed by the trust domain's
// SPIFFE ID (spiffe://<td>), the own trust domain's inside each X509SVID and the others in federated_bundles.
import { create } from '@bufbuild/protobuf';
import { X509BundlesResponseSchema, X509SVIDResponseSchema, type X509BundlesResponse, type X509SVIDResponse } from '#gen/workload_pb';
import type { X509Bundle } from '../spiffe/bundle.js';
import type { IdentityStore, X509SvidRecord } from '../store/identity-store.js';

const PKCS8_PEM = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/;

/** The unencrypted PKCS#8 DER of a record's key (the store holds it as PKCS#8 PEM). */
export function pkcs8Der(record: X509SvidRecord): Buffer {
  const m = PKCS8_PEM.exec(record.privateKeyPem);
  // The message names the identity only: key material never goes into an error.
  if (!m) throw new Error(`the private key of ${record.spiffeId} is not a PKCS#8 PEM block`);
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

export function bundleDer(bundle: X509Bundle): Buffer {
  return Buffer.concat(bundle.x509Authorities.map((c) => c.raw));
}

/** Every bundle of the store but the own trust domain's, keyed spiffe://<td>. */
function federatedBundles(store: IdentityStore): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const b of store.bundles()) if (b.trustDomain.name !== store.trustDomain) out[b.trustDomain.idString()] = bundleDer(b);
  return out;
}

/**
 * The X509SVIDResponse for a caller granted `spiffeIds` (default identity first), or why there is none:
 * `no-svid` when the store holds none of them (PermissionDenied), `no-bundle` when the own bundle is missing.
 */
export function x509SvidResponse(store: IdentityStore, spiffeIds: readonly string[]): X509SVIDResponse | 'no-svid' | 'no-bundle' {
  const records = spiffeIds.map((id) => store.getSvid(id)).filter((r): r is X509SvidRecord => r !== undefined);
  if (records.length === 0) return 'no-svid';
  const own = store.getBundle(store.trustDomain);
  if (!own) return 'no-bundle';
  const ownDer = bundleDer(own);
  return create(X509SVIDResponseSchema, {
    svids: records.map((r) => ({
      spiffeId: r.spiffeId,
      x509Svid: Buffer.concat(r.chain.map((c) => c.raw)),
      x509SvidKey: pkcs8Der(r),
      bundle: ownDer,
    })),
    federatedBundles: federatedBundles(store),
  });
}

/** Every bundle the store holds, the own trust domain's first; 'no-bundle' while the own one is missing. */
export function x509BundlesResponse(store: IdentityStore): X509BundlesResponse | 'no-bundle' {
  const own = store.getBundle(store.trustDomain);
  if (!own) return 'no-bundle';
  return create(X509BundlesResponseSchema, { bundles: { [own.trustDomain.idString()]: bundleDer(own), ...federatedBundles(store) } });
}
