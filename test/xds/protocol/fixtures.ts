// Small test PKI: a CA per trust domain and SVIDs signed by it, built with @peculiar/x509 over node's WebCrypto.
import * as x509 from '../../../src/spiffe/x509-lib.js';
import { webcrypto, X509Certificate } from 'node:crypto';
import { X509Bundle } from '../../../src/spiffe/bundle.js';
import { TrustDomain } from '../../../src/spiffe/trust-domain.js';
import { IdentityStore, type X509SvidRecord } from '../../../src/store/identity-store.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const NOT_BEFORE = new Date(Date.UTC(2026, 0, 1));
const NOT_AFTER = new Date(Date.UTC(2026, 0, 2));
let serial = 0x1000;

export interface TestCa {
  readonly trustDomain: string;
  readonly cert: X509Certificate;
  readonly keys: CryptoKeyPair;
  readonly generated: x509.X509Certificate;
}

function nextSerial(): string {
  return (serial++).toString(16).toUpperCase().padStart(4, '0');
}

export async function makeCa(trustDomain: string): Promise<TestCa> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const generated = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${trustDomain} test CA`,
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]),
    ],
  });
  return { trustDomain, keys, generated, cert: new X509Certificate(Buffer.from(generated.rawData)) };
}

export async function makeSvid(ca: TestCa, spiffeId: string): Promise<X509SvidRecord> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const sn = nextSerial();
  const generated = await x509.X509CertificateGenerator.create({
    serialNumber: sn,
    subject: 'O=trustplane test',
    issuer: ca.generated.subject,
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const privateKeyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
  const leaf = new X509Certificate(Buffer.from(generated.rawData));
  return { spiffeId, chain: [leaf], privateKeyPem, notBefore: NOT_BEFORE, notAfter: NOT_AFTER, serial: sn };
}

export function bundleOf(...cas: TestCa[]): X509Bundle {
  return new X509Bundle(TrustDomain.parse(cas[0]!.trustDomain), cas.map((c) => c.cert));
}

export const TD = 'example.org';
export const FED = 'partner.example';
export const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';
export const PAYMENTS = 'spiffe://example.org/ns/shop/sa/payments';
export const LATER = 'spiffe://example.org/ns/shop/sa/later';

export interface Pki {
  readonly ca: TestCa;
  readonly fedCa: TestCa;
  readonly orders: X509SvidRecord;
  readonly payments: X509SvidRecord;
  readonly later: X509SvidRecord;
}

let shared: Promise<Pki> | undefined;

/** One PKI per test process: key generation is the slow part. */
export function pki(): Promise<Pki> {
  shared ??= (async () => {
    const ca = await makeCa(TD);
    const fedCa = await makeCa(FED);
    return { ca, fedCa, orders: await makeSvid(ca, ORDERS), payments: await makeSvid(ca, PAYMENTS), later: await makeSvid(ca, LATER) };
  })();
  return shared;
}

/** A store holding ORDERS and PAYMENTS SVIDs and both bundles (LATER is held back for "appears later" tests). */
export async function populatedStore(): Promise<IdentityStore> {
  const p = await pki();
  const store = new IdentityStore(TD);
  store.batch(() => {
    store.setSvid(p.orders);
    store.setSvid(p.payments);
    store.setBundle(bundleOf(p.ca));
    store.setBundle(bundleOf(p.fedCa));
  });
  return store;
}
