// The X.509-SVID minting hot path. Everything constant for one signing CA (issuer, algorithm, subject, fixed
// extensions, AKI) is DER-encoded once; per SVID only the serial, validity, public key, SKI and URI SAN are
// encoded and concatenated around them, then the TBSCertificate is signed with node:crypto.
import { randomFillSync, sign } from 'node:crypto';
import { bitString, header, seq, Tag, time } from './der.js';
import { type SignatureAlgorithm } from './key-type.js';
import {
  authorityKeyIdentifier, basicConstraints, encodeName, extKeyUsage, keyIdentifier, KeyUsage, keyUsage,
  OID, VERSION_3,
} from './x509-parts.js';
import type { KeyObject } from 'node:crypto';

export interface TemplateSigner {
  /** The CA's subject Name, DER: the SVIDs' issuer. */
  readonly subjectDer: Buffer;
  /** The CA's subject key identifier: the SVIDs' AKI. */
  readonly keyId: Buffer;
  readonly privateKey: KeyObject;
  readonly algorithm: SignatureAlgorithm;
}

export interface SvidFields {
  readonly spiffeId: string;
  readonly spkiDer: Buffer;
  readonly notBefore: number;
  readonly notAfter: number;
  /** RSA leaf keys also get keyEncipherment (X509-SVID 4.3). */
  readonly rsaKey: boolean;
}

export interface IssuedCertificate {
  readonly der: Buffer;
  /** Upper-case hex. */
  readonly serial: string;
}

// A non-empty subject lets the URI SAN stay non-critical (RFC 5280 4.2.1.6); SPIRE's SVIDs carry O=SPIRE likewise.
const SUBJECT = encodeName([[OID.organizationName, 'trustplane']]);
const SERIAL_HEADER = Buffer.from([Tag.INTEGER, 16]);
// extnID subjectKeyIdentifier, OCTET STRING { OCTET STRING (20) }: a SHA-1 key id has a fixed length.
const SKI_PREFIX = Buffer.from('301d0603551d0e04160414', 'hex');
const SAN_OID = Buffer.from('0603551d11', 'hex');
const SAN_URI_TAG = 0x86;

const serialPool = Buffer.alloc(16 * 256);
let serialOffset = serialPool.length;

/** 16 random bytes from a pool refilled in bulk, shaped to a positive, minimal, always-16-octet INTEGER. */
function nextSerial(): Buffer {
  if (serialOffset === serialPool.length) {
    randomFillSync(serialPool);
    serialOffset = 0;
  }
  const s = Buffer.from(serialPool.subarray(serialOffset, (serialOffset += 16)));
  s[0] = (s[0]! & 0x7f) | 0x40;
  return s;
}

function sanExtension(uri: Buffer): Buffer[] {
  const general = header(SAN_URI_TAG, uri.length);
  const names = header(Tag.SEQUENCE, general.length + uri.length);
  const octets = header(Tag.OCTET_STRING, names.length + general.length + uri.length);
  const inner = SAN_OID.length + octets.length + names.length + general.length + uri.length;
  return [header(Tag.SEQUENCE, inner), SAN_OID, octets, names, general, uri];
}

export class SvidTemplate {
  readonly #signer: TemplateSigner;
  readonly #beforeValidity: Buffer;
  readonly #fixedExtensions: { readonly ec: Buffer; readonly rsa: Buffer };
  readonly #signatureAlgorithm: Buffer;

  constructor(signer: TemplateSigner) {
    this.#signer = signer;
    this.#signatureAlgorithm = signer.algorithm.algorithmIdentifier;
    this.#beforeValidity = Buffer.concat([signer.algorithm.algorithmIdentifier, signer.subjectDer]);
    const fixed = (usage: number[]): Buffer =>
      Buffer.concat([
        basicConstraints(false),
        keyUsage(usage),
        extKeyUsage(OID.serverAuth, OID.clientAuth),
        authorityKeyIdentifier(signer.keyId),
      ]);
    this.#fixedExtensions = {
      ec: fixed([KeyUsage.digitalSignature]),
      rsa: fixed([KeyUsage.digitalSignature, KeyUsage.keyEncipherment]),
    };
  }

  issue(f: SvidFields): IssuedCertificate {
    const serial = nextSerial();
    const validity = seq(time(f.notBefore), time(f.notAfter));
    const ski = keyIdentifier(f.spkiDer);
    const san = sanExtension(Buffer.from(f.spiffeId, 'latin1'));
    const fixedExt = f.rsaKey ? this.#fixedExtensions.rsa : this.#fixedExtensions.ec;

    let extLen = fixedExt.length + SKI_PREFIX.length + ski.length;
    for (const p of san) extLen += p.length;
    const extSeq = header(Tag.SEQUENCE, extLen);
    const extWrap = header(0xa3, extSeq.length + extLen);

    const parts = [
      VERSION_3, SERIAL_HEADER, serial, this.#beforeValidity, validity, SUBJECT, f.spkiDer,
      extWrap, extSeq, fixedExt, SKI_PREFIX, ski, ...san,
    ];
    let tbsLen = 0;
    for (const p of parts) tbsLen += p.length;
    const tbs = Buffer.concat([header(Tag.SEQUENCE, tbsLen), ...parts]);

    const signature = bitString(sign(this.#signer.algorithm.hash, tbs, this.#signer.privateKey));
    const certLen = tbs.length + this.#signatureAlgorithm.length + signature.length;
    const der = Buffer.concat([header(Tag.SEQUENCE, certLen), tbs, this.#signatureAlgorithm, signature]);
    return { der, serial: serial.toString('hex').toUpperCase() };
  }
}
