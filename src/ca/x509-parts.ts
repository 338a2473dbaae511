// The X.509 building blocks (RFC 5280) shared by CA certificates and the SVID template, encoded once each.
import { createHash } from 'node:crypto';
import {
  bitString, bool, children, explicit, implicitPrimitive, namedBits, octetString, oid, printable, readTlv, seq, set,
  smallInteger, utf8, content,
} from './der.js';

export const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  countryName: '2.5.4.6',
  organizationName: '2.5.4.10',
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
} as const;

/** KeyUsage bit numbers (RFC 5280 4.2.1.3). */
export const KeyUsage = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

/** One relative distinguished name per attribute, in order. */
export type NameAttribute = readonly [oid: string, value: string];

export function encodeName(attributes: readonly NameAttribute[]): Buffer {
  return seq(
    ...attributes.map(([type, value]) =>
      // countryName and serialNumber are PrintableString by definition; everything else UTF8String (RFC 5280 4.1.2.6).
      set(seq(oid(type), type === OID.countryName || type === OID.serialNumber ? printable(value) : utf8(value))),
    ),
  );
}

export function extension(type: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(type), bool(true), octetString(value)) : seq(oid(type), octetString(value));
}

export const basicConstraints = (ca: boolean): Buffer =>
  // DER omits a DEFAULT FALSE cA, so a leaf's value is an empty SEQUENCE.
  extension(OID.basicConstraints, true, ca ? seq(bool(true)) : seq());

export const keyUsage = (bits: readonly number[]): Buffer => extension(OID.keyUsage, true, namedBits(bits));

export const extKeyUsage = (...purposes: string[]): Buffer => extension(OID.extKeyUsage, false, seq(...purposes.map(oid)));

export const subjectKeyIdentifier = (keyId: Buffer): Buffer => extension(OID.subjectKeyIdentifier, false, octetString(keyId));

export const authorityKeyIdentifier = (keyId: Buffer): Buffer =>
  extension(OID.authorityKeyIdentifier, false, seq(implicitPrimitive(0, keyId)));

/** subjectAltName with one URI. Critical exactly when the subject is empty (RFC 5280 4.2.1.6). */
export const uriSan = (uri: string, critical: boolean): Buffer =>
  extension(OID.subjectAltName, critical, seq(implicitPrimitive(6, Buffer.from(uri, 'latin1'))));

export const extensions = (...exts: Buffer[]): Buffer => explicit(3, seq(...exts));

export const VERSION_3 = explicit(0, smallInteger(2));

/** Key identifier method 1 of RFC 5280 4.2.1.2: SHA-1 of the subjectPublicKey BIT STRING's bytes. */
export function keyIdentifier(spkiDer: Buffer): Buffer {
  const spki = readTlv(spkiDer, 0);
  const [, key] = children(spkiDer, spki);
  if (!key) throw new RangeError('SubjectPublicKeyInfo has no subjectPublicKey');
  // Skip the unused-bits octet.
  return createHash('sha1').update(content(spkiDer, key).subarray(1)).digest();
}

export function certificate(tbs: Buffer, signatureAlgorithm: Buffer, signature: Buffer): Buffer {
  return seq(tbs, signatureAlgorithm, bitString(signature));
}
