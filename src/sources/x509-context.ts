// Reads an X509SVIDResponse from a Workload API into identity store records, checking each SVID as a workload
// must before using it (X509-SVID spec §5): its chain verifies against its own trust domain's bundle, the leaf's
// SPIFFE ID is the one the entry names, and the key is the leaf's. An entry that fails is rejected with a reason
// (never with key material in it) and the others are kept.
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import type { X509SVIDResponse } from '#gen/workload_pb';
import { readTlv } from '../ca/der.js';
import { BundleSet, X509Bundle } from '../spiffe/bundle.js';
import { SpiffeId } from '../spiffe/id.js';
import { TrustDomain } from '../spiffe/trust-domain.js';
import { verifyX509Svid } from '../spiffe/x509svid.js';
import type { X509SvidRecord } from '../store/identity-store.js';

export interface RejectedSvid {
  readonly spiffeId: string;
  readonly reason: string;
}

export interface X509Context {
  /** Valid SVIDs of the own trust domain, by SPIFFE ID, in the order given (the first is the default). */
  readonly svids: Map<string, X509SvidRecord>;
  readonly rejected: readonly RejectedSvid[];
  /** The own trust domain's bundle, from the entries' `bundle` field. */
  readonly bundle: X509Bundle | undefined;
  /** Bundles of other trust domains, by name. */
  readonly federated: Map<string, X509Bundle>;
  /** Records checked in this response, by a hash of what was checked (chain, key, bundle): pass it to the next read. */
  readonly checked: Map<string, X509SvidRecord>;
}

/** Concatenated DER certificates, one by one. */
export function splitCertificates(der: Uint8Array, what: string): X509Certificate[] {
  const buf = Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  const out: X509Certificate[] = [];
  for (let pos = 0; pos < buf.length; ) {
    const t = readTlv(buf, pos);
    try {
      out.push(new X509Certificate(buf.subarray(t.start, t.end)));
    } catch {
      throw new Error(`${what}: certificate ${out.length + 1} is not a DER X.509 certificate`);
    }
    pos = t.end;
  }
  if (out.length === 0) throw new Error(`${what}: no certificate`);
  return out;
}

function pkcs8Pem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64}-----END PRIVATE KEY-----\n`;
}

/**
 * `previous` is the `checked` map of the last read: an entry whose chain, key and bundle are byte-identical is
 * not verified again (a response repeats every SVID whenever one of them rotates).
 */
export function readX509Context(r: X509SVIDResponse, trustDomain: string, now: Date, previous?: ReadonlyMap<string, X509SvidRecord>): X509Context {
  const svids = new Map<string, X509SvidRecord>();
  const checked = new Map<string, X509SvidRecord>();
  const rejected: RejectedSvid[] = [];
  let bundle: X509Bundle | undefined;
  const td = TrustDomain.parse(trustDomain);
  for (const [i, s] of r.svids.entries()) {
    const label = s.spiffeId || `entry ${i}`;
    try {
      const id = SpiffeId.parse(s.spiffeId);
      if (id.trustDomain.name !== trustDomain) throw new Error(`not in trust domain ${trustDomain}`);
      if (svids.has(id.toString())) throw new Error('given twice; the first entry is used');
      const chain = splitCertificates(s.x509Svid, 'x509_svid');
      const authorities = splitCertificates(s.bundle, 'bundle');
      const ownBundle = new X509Bundle(td, authorities);
      const leaf = chain[0]!;
      const hash = createHash('sha256').update(s.spiffeId).update('\0').update(s.x509Svid).update('\0').update(s.x509SvidKey).update('\0').update(s.bundle).digest('base64');
      const known = previous?.get(hash);
      let record: X509SvidRecord;
      // Still valid at `now` is checked for a known record too: a cached verdict must not outlive the certificate.
      if (known && known.notBefore.getTime() <= now.getTime() && now.getTime() < known.notAfter.getTime()) record = known;
      else {
        let key;
        try {
          key = createPrivateKey({ key: Buffer.from(s.x509SvidKey), format: 'der', type: 'pkcs8' });
        } catch {
          throw new Error('x509_svid_key is not an unencrypted PKCS#8 DER key');
        }
        if (!leaf.checkPrivateKey(key)) throw new Error('x509_svid_key is not the key of the leaf certificate');
        const verified = verifyX509Svid(chain, new BundleSet([ownBundle]), now);
        if (verified.spiffeId.toString() !== id.toString()) throw new Error(`the leaf certificate is for ${verified.spiffeId.toString()}`);
        record = {
          spiffeId: id.toString(),
          chain,
          privateKeyPem: pkcs8Pem(s.x509SvidKey),
          notBefore: new Date(leaf.validFrom),
          notAfter: new Date(leaf.validTo),
          serial: leaf.serialNumber.toUpperCase(),
          leafDer: leaf.raw,
        };
      }
      bundle ??= ownBundle;
      svids.set(id.toString(), record);
      checked.set(hash, record);
    } catch (err) {
      rejected.push({ spiffeId: label, reason: (err as Error).message });
    }
  }
  const federated = new Map<string, X509Bundle>();
  for (const [key, der] of Object.entries(r.federatedBundles)) {
    try {
      const ftd = TrustDomain.parse(key);
      if (ftd.name === trustDomain) continue;
      federated.set(ftd.name, new X509Bundle(ftd, splitCertificates(der, `federated bundle ${key}`)));
    } catch (err) {
      rejected.push({ spiffeId: key, reason: `federated bundle: ${(err as Error).message}` });
    }
  }
  return { svids, rejected, bundle, federated, checked };
}
