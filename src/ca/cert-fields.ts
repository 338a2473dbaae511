// Reads the few raw fields of an existing certificate the CA needs byte-exact (node:crypto's X509Certificate only
// offers them as text): the subject Name to use as an issuer, and the key identifier to use as an AKI.
import { children, content, oid, raw, readTlv, Tag } from './der.js';
import { keyIdentifier, OID } from './x509-parts.js';

export interface CertificateFields {
  readonly subjectDer: Buffer;
  readonly spkiDer: Buffer;
  /** The subjectKeyIdentifier extension's value, or the RFC 5280 method-1 identifier when absent. */
  readonly keyId: Buffer;
}

const SKI_OID = oid(OID.subjectKeyIdentifier);

/** Throws RangeError on anything that is not an X.509 v3 certificate in DER. */
export function certificateFields(der: Buffer): CertificateFields {
  const cert = readTlv(der, 0);
  if (cert.tag !== Tag.SEQUENCE || cert.end !== der.length) throw new RangeError('not a DER certificate');
  const [tbs] = children(der, cert);
  if (!tbs || tbs.tag !== Tag.SEQUENCE) throw new RangeError('certificate has no TBSCertificate');
  const fields = children(der, tbs);
  const at = fields[0]?.tag === 0xa0 ? 1 : 0; // optional [0] version
  // serial, signature, issuer, validity, subject, subjectPublicKeyInfo
  const subject = fields[at + 4];
  const spki = fields[at + 5];
  if (!subject || !spki) throw new RangeError('TBSCertificate is missing its subject or public key');
  const spkiDer = Buffer.from(raw(der, spki));
  let keyId: Buffer | undefined;
  const exts = fields.find((f) => f.tag === 0xa3);
  if (exts) {
    const [list] = children(der, exts);
    for (const ext of list ? children(der, list) : []) {
      const parts = children(der, ext);
      if (parts[0] && raw(der, parts[0]).equals(SKI_OID)) {
        const value = parts[parts.length - 1]!; // OCTET STRING wrapping OCTET STRING keyIdentifier
        const inner = readTlv(der, value.contentStart, value.end);
        keyId = Buffer.from(content(der, inner));
      }
    }
  }
  return { subjectDer: Buffer.from(raw(der, subject)), spkiDer, keyId: keyId ?? keyIdentifier(spkiDer) };
}
