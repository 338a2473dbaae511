// A small CA for transport tests, independent of src/ca: it can issue what the real CA never would (another
// trust domain, a non-node ID, a certificate valid only at a chosen time) and signs public keys for attestation.
import { generateKeyPairSync, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import * as x509 from '../../../src/spiffe/x509-lib.js';
import { TrustDomain } from '../../../src/spiffe/trust-domain.js';
import { X509Bundle } from '../../../src/spiffe/bundle.js';
import type { X509SvidRecord } from '../../../src/store/identity-store.js';
import type { NodeSvidIssuer } from '../../../src/xds/node-attest/node-svid-issuer.js';
import type { Clock } from '../../../src/clock.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const HOUR = 3_600_000;

export interface FixtureCa {
  readonly trustDomain: string;
  readonly cert: X509Certificate;
  readonly bundle: X509Bundle;
  readonly keys: CryptoKeyPair;
}

export async function makeCa(trustDomain: string, now: number): Promise<FixtureCa> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `O=trustplane test, CN=${trustDomain}`,
    notBefore: new Date(now - HOUR),
    notAfter: new Date(now + 48 * HOUR),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const nodeCert = new X509Certificate(Buffer.from(cert.rawData));
  return { trustDomain, cert: nodeCert, bundle: new X509Bundle(TrustDomain.parse(trustDomain), [nodeCert]), keys };
}

export async function signLeaf(
  ca: FixtureCa,
  spiffeId: string,
  publicKey: KeyObject,
  validity: { notBefore: number; notAfter: number },
): Promise<X509Certificate> {
  const issuer = new x509.X509Certificate(ca.cert.raw);
  const cert = await x509.X509CertificateGenerator.create({
    subject: 'O=trustplane test',
    issuer: issuer.subject,
    notBefore: new Date(validity.notBefore),
    notAfter: new Date(validity.notAfter),
    publicKey: publicKey.export({ format: 'der', type: 'spki' }),
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return new X509Certificate(Buffer.from(cert.rawData));
}

export function generateNodeKey(): { publicKey: KeyObject; privateKeyPem: string; publicKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    publicKey,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** An SVID with its key, valid from an hour before `now` for ttlMs (default 1 h). */
export async function issueSvid(ca: FixtureCa, spiffeId: string, now: number, ttlMs = HOUR): Promise<X509SvidRecord> {
  const key = generateNodeKey();
  const notBefore = now - HOUR;
  const notAfter = now + ttlMs;
  const leaf = await signLeaf(ca, spiffeId, key.publicKey, { notBefore, notAfter });
  return {
    spiffeId,
    chain: [leaf],
    privateKeyPem: key.privateKeyPem,
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
    serial: leaf.serialNumber.toUpperCase(),
  };
}

/** A NodeSvidIssuer over the fixture CA that counts what it issued, so tests can assert nothing was. */
export function fixtureIssuer(ca: FixtureCa, clock: Clock): NodeSvidIssuer & { issued: string[] } {
  const issued: string[] = [];
  return {
    issued,
    async signX509Svid(spiffeId, publicKey, { ttlMs }) {
      const now = clock.now();
      const leaf = await signLeaf(ca, spiffeId, publicKey, { notBefore: now - 60_000, notAfter: now + ttlMs });
      issued.push(spiffeId);
      return { chain: [leaf], notAfter: new Date(now + ttlMs) };
    },
    bundle: () => ca.bundle,
  };
}
