// Certificate fixtures for the SPIFFE tests, built with @peculiar/x509 over node's WebCrypto. Every
// certificate is valid from VALID_FROM to VALID_TO unless a case needs otherwise; tests verify at NOW.
import { generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '../../src/spiffe/x509-lib.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export const NOW = new Date(Date.UTC(2026, 0, 15));
export const VALID_FROM = new Date(Date.UTC(2026, 0, 1));
export const VALID_TO = new Date(Date.UTC(2027, 0, 1));
const KU = x509.KeyUsageFlags;
export const CA_USAGE = KU.keyCertSign | KU.cRLSign;
export const LEAF_USAGE = KU.digitalSignature | KU.keyEncipherment;

export interface Issued {
  cert: X509Certificate;
  keys: CryptoKeyPair;
  subject: string;
}

export interface IssueOptions {
  subject: string;
  /** Signs the certificate; self-signed when absent. */
  issuer?: Issued;
  /** URI SANs. */
  uris?: string[];
  ca?: boolean;
  pathLength?: number;
  /** Key usage flags; null leaves the extension out. */
  keyUsage?: number | null;
  notBefore?: Date;
  notAfter?: Date;
  extensions?: x509.Extension[];
  rsa?: boolean;
  /** Certifies this SPKI (DER) instead of a freshly generated key. */
  spki?: Buffer;
}

const EC: EcKeyGenParams & EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const RSA: RsaHashedKeyGenParams = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };

let serial = 1;

export async function issue(o: IssueOptions): Promise<Issued> {
  const alg = o.rsa ? RSA : EC;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const signer = o.issuer?.keys ?? keys;
  const publicKey: x509.PublicKeyType = o.spki ? new Uint8Array(o.spki).buffer : keys.publicKey;
  const ca = o.ca ?? false;
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(ca, o.pathLength, true)];
  const usage = o.keyUsage === undefined ? (ca ? CA_USAGE : LEAF_USAGE) : o.keyUsage;
  if (usage !== null) extensions.push(new x509.KeyUsagesExtension(usage, true));
  if (o.uris?.length) extensions.push(new x509.SubjectAlternativeNameExtension(o.uris.map((value) => ({ type: 'url' as const, value }))));
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(publicKey));
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(signer.publicKey));
  extensions.push(...(o.extensions ?? []));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(4, '0'),
    subject: o.subject,
    issuer: o.issuer?.subject ?? o.subject,
    notBefore: o.notBefore ?? VALID_FROM,
    notAfter: o.notAfter ?? VALID_TO,
    publicKey,
    signingKey: signer.privateKey,
    signingAlgorithm: signer.privateKey.algorithm as Algorithm,
    extensions,
  });
  return { cert: new X509Certificate(Buffer.from(cert.rawData)), keys, subject: o.subject };
}

export const rootA = await issue({ subject: 'CN=root A,O=a.example', ca: true, uris: ['spiffe://a.example'] });
export const rootA2 = await issue({ subject: 'CN=root A2,O=a.example', ca: true, uris: ['spiffe://a.example'] });
export const rootB = await issue({ subject: 'CN=root B,O=b.example', ca: true, uris: ['spiffe://b.example'] });
export const rootRsa = await issue({ subject: 'CN=root RSA,O=a.example', ca: true, rsa: true });
/** A CA certificate for a DSA key, which has no JWK form. */
export const rootDsa = await issue({
  subject: 'CN=root DSA,O=a.example',
  issuer: rootB,
  ca: true,
  spki: generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160, publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } }).publicKey,
});
/** Same subject name as rootA, another key: a name match alone must not make it trusted. */
export const rootAImpostor = await issue({ subject: 'CN=root A,O=a.example', ca: true });

export const interA = await issue({ subject: 'CN=intermediate A,O=a.example', issuer: rootA, ca: true, uris: ['spiffe://a.example'] });
export const interA2 = await issue({ subject: 'CN=intermediate A level 2,O=a.example', issuer: interA, ca: true });
export const interPathLen0 = await issue({ subject: 'CN=intermediate pathlen 0,O=a.example', issuer: rootA, ca: true, pathLength: 0 });
export const interBelowPathLen0 = await issue({ subject: 'CN=intermediate under pathlen 0,O=a.example', issuer: interPathLen0, ca: true });
export const interNotCa = await issue({ subject: 'CN=intermediate not CA,O=a.example', issuer: rootA, ca: false, keyUsage: CA_USAGE });
export const interNoKeyCertSign = await issue({ subject: 'CN=intermediate without keyCertSign,O=a.example', issuer: rootA, ca: true, keyUsage: KU.cRLSign | KU.digitalSignature });
export const interExpired = await issue({ subject: 'CN=intermediate expired,O=a.example', issuer: rootA, ca: true, notAfter: new Date(Date.UTC(2026, 0, 10)) });
export const interCriticalUnknown = await issue({
  subject: 'CN=intermediate with unknown critical extension,O=a.example',
  issuer: rootA,
  ca: true,
  extensions: [new x509.Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([0x05, 0x00]))],
});

const leaf = (subject: string, issuer: Issued, uris: string[], more: Partial<IssueOptions> = {}): Promise<Issued> =>
  issue({ subject, issuer, uris, ...more });

export const ID_A = 'spiffe://a.example/ns/default/sa/web';
export const ID_B = 'spiffe://b.example/ns/default/sa/api';
export const leafA = await leaf('CN=web', rootA, [ID_A]);
export const leafA2 = await leaf('CN=web by root A2', rootA2, [ID_A]);
export const leafViaInter = await leaf('CN=web via intermediate', interA, [ID_A]);
export const leafViaTwoInters = await leaf('CN=web via two intermediates', interA2, [ID_A]);
export const leafB = await leaf('CN=api', rootB, [ID_B]);
export const leafRsaRoot = await leaf('CN=web under RSA root', rootRsa, [ID_A]);
/** Claims trust domain a.example but was signed by b.example's CA. */
export const leafAFromRootB = await leaf('CN=impersonator', rootB, ['spiffe://a.example/ns/default/sa/admin']);
export const leafAFromImpostor = await leaf('CN=web from impostor', rootAImpostor, [ID_A]);
export const leafNoSan = await leaf('CN=no san', rootA, []);
export const leafTwoUris = await leaf('CN=two uris', rootA, [ID_A, 'spiffe://a.example/other']);
export const leafHttpsUri = await leaf('CN=https uri', rootA, ['https://a.example/web']);
export const leafUpperTd = await leaf('CN=upper case td', rootA, ['spiffe://A.example/web']);
export const leafNoPath = await leaf('CN=no path', rootA, ['spiffe://a.example']);
export const leafIsCa = await leaf('CN=leaf that is a CA', rootA, [ID_A], { ca: true, keyUsage: KU.digitalSignature });
export const leafNoKeyUsage = await leaf('CN=no key usage', rootA, [ID_A], { keyUsage: null });
export const leafNoDigitalSignature = await leaf('CN=no digitalSignature', rootA, [ID_A], { keyUsage: KU.keyEncipherment });
export const leafKeyCertSign = await leaf('CN=keyCertSign', rootA, [ID_A], { keyUsage: KU.digitalSignature | KU.keyCertSign });
export const leafCrlSign = await leaf('CN=cRLSign', rootA, [ID_A], { keyUsage: KU.digitalSignature | KU.cRLSign });
export const leafCriticalUnknown = await leaf('CN=unknown critical extension', rootA, [ID_A], {
  extensions: [new x509.Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([0x05, 0x00]))],
});
export const leafExpired = await leaf('CN=expired', rootA, [ID_A], { notAfter: new Date(Date.UTC(2026, 0, 14)) });
export const leafNotYetValid = await leaf('CN=not yet valid', rootA, [ID_A], { notBefore: new Date(Date.UTC(2026, 0, 16)) });
export const leafUnderNotCa = await leaf('CN=under non-CA', interNotCa, [ID_A]);
export const leafUnderNoKeyCertSign = await leaf('CN=under no keyCertSign', interNoKeyCertSign, [ID_A]);
export const leafUnderExpired = await leaf('CN=under expired intermediate', interExpired, [ID_A]);
export const leafUnderPathLen = await leaf('CN=too deep', interBelowPathLen0, [ID_A]);
export const leafUnderCriticalUnknown = await leaf('CN=under unknown critical', interCriticalUnknown, [ID_A]);

/** A root that expired before NOW, and a leaf it signed that is itself still in its window. */
export const rootExpired = await issue({ subject: 'CN=root expired,O=c.example', ca: true, notAfter: new Date(Date.UTC(2026, 0, 10)) });
export const leafUnderExpiredRoot = await leaf('CN=under expired root', rootExpired, ['spiffe://c.example/web']);
/** A SAN holding an otherName of a type the parser does not know, beside the URI SAN. */
const OTHER_NAME = [0xa0, 0x0a, 0x06, 0x03, 0x2a, 0x03, 0x04, 0xa0, 0x03, 0x0c, 0x01, 0x78]; // [0] { OID 1.2.3.4, [0] UTF8String "x" }
const uriName = (uri: string): number[] => [0x86, uri.length, ...Buffer.from(uri, 'ascii')];
export const ID_OTHER_NAME = 'spiffe://a.example/with-other-name';
export const leafOtherNameSan = await leaf('CN=otherName SAN', rootA, [], {
  extensions: [new x509.Extension('2.5.29.17', false, new Uint8Array([0x30, OTHER_NAME.length + ID_OTHER_NAME.length + 2, ...OTHER_NAME, ...uriName(ID_OTHER_NAME)]))],
});
/** A keyUsage extension whose value is NULL instead of a BIT STRING. */
export const leafBrokenKeyUsage = await leaf('CN=broken keyUsage', rootA, [ID_A], {
  keyUsage: null,
  extensions: [new x509.Extension('2.5.29.15', true, new Uint8Array([0x05, 0x00]))],
});
/** Signed with a leaf's key: trusted only if a verifier lets a non-CA bundle entry act as an authority. */
export const leafSignedByLeaf = await leaf('CN=signed by a leaf', leafA, [ID_A]);
