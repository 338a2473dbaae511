// Building CA certificates (root or intermediate). Not a hot path; it shares the DER building blocks with the SVID
// template so both are encoded the same way.
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { seq, time, unsignedInteger } from './der.js';
import { type SignatureAlgorithm } from './key-type.js';
import {
  authorityKeyIdentifier, basicConstraints, certificate, encodeName, extensions, keyIdentifier, KeyUsage, keyUsage,
  OID, subjectKeyIdentifier, uriSan, VERSION_3,
} from './x509-parts.js';

export interface Issuer {
  readonly subjectDer: Buffer;
  readonly keyId: Buffer;
  readonly privateKey: KeyObject;
  readonly algorithm: SignatureAlgorithm;
}

export interface CaCertificateRequest {
  /** spiffe://trust-domain, the URI SAN SPIRE puts on its CAs. */
  readonly trustDomainId: string;
  readonly spkiDer: Buffer;
  readonly notBefore: number;
  readonly notAfter: number;
  /** Omit for a self-signed root; then `self` signs. */
  readonly issuer?: Issuer;
  readonly self: { readonly privateKey: KeyObject; readonly algorithm: SignatureAlgorithm };
}

/** A positive 128-bit serial: top bit clear (positive), next bit set (always 16 octets, minimal DER). */
export function randomSerial(bytes: Buffer = randomBytes(16)): Buffer {
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes;
}

export function buildCaCertificate(req: CaCertificateRequest): Buffer {
  const serial = randomSerial();
  // A serialNumber attribute keeps successive CAs' subjects distinct, so chain builders never confuse them.
  const subjectDer = encodeName([
    [OID.organizationName, 'trustplane'],
    [OID.commonName, 'trustplane CA'],
    [OID.serialNumber, serial.toString('hex').toUpperCase()],
  ]);
  const keyId = keyIdentifier(req.spkiDer);
  const signer = req.issuer ?? { subjectDer, keyId, ...req.self };
  const tbs = seq(
    VERSION_3,
    unsignedInteger(serial),
    signer.algorithm.algorithmIdentifier,
    signer.subjectDer,
    seq(time(req.notBefore), time(req.notAfter)),
    subjectDer,
    req.spkiDer,
    extensions(
      basicConstraints(true),
      keyUsage([KeyUsage.digitalSignature, KeyUsage.keyCertSign, KeyUsage.cRLSign]),
      subjectKeyIdentifier(keyId),
      authorityKeyIdentifier(signer.keyId),
      uriSan(req.trustDomainId, false),
    ),
  );
  return certificate(tbs, signer.algorithm.algorithmIdentifier, sign(signer.algorithm.hash, tbs, signer.privateKey));
}
