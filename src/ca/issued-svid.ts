// What minting returns. Parsing DER into a node:crypto X509Certificate costs more than generating the key and
// signing together (OpenSSL 3.0 decodes the public key through its slow provider decoders, ~0.3–0.5 ms), so the
// leaf is parsed on first access to `chain`, once, and only by whoever needs the object.
import { X509Certificate } from 'node:crypto';
import type { X509SvidRecord } from '../store/identity-store.js';

export class IssuedX509Svid {
  /** The leaf certificate, DER. */
  readonly leafDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Upper-case hex. */
  readonly serial: string;
  /** The chain after the leaf: trustplane's intermediate and any upstream ones. */
  readonly intermediates: readonly X509Certificate[];
  #chain: X509Certificate[] | undefined;

  constructor(leafDer: Buffer, tail: readonly X509Certificate[], notBefore: Date, notAfter: Date, serial: string) {
    this.leafDer = leafDer;
    this.intermediates = tail;
    this.notBefore = notBefore;
    this.notAfter = notAfter;
    this.serial = serial;
  }

  /** Leaf first, then intermediates; never the trust anchor. */
  get chain(): X509Certificate[] {
    this.#chain ??= [new X509Certificate(this.leafDer), ...this.intermediates];
    return this.#chain;
  }
}

export class MintedX509Svid extends IssuedX509Svid implements X509SvidRecord {
  readonly spiffeId: string;
  readonly privateKeyPem: string;

  constructor(spiffeId: string, privateKeyPem: string, issued: IssuedX509Svid) {
    super(issued.leafDer, issued.intermediates, issued.notBefore, issued.notAfter, issued.serial);
    this.spiffeId = spiffeId;
    this.privateKeyPem = privateKeyPem;
  }

  /** Keeps the key out of console.log / util.inspect and JSON. */
  toJSON(): object {
    return { spiffeId: this.spiffeId, serial: this.serial, notBefore: this.notBefore, notAfter: this.notAfter };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `MintedX509Svid { spiffeId: '${this.spiffeId}', serial: '${this.serial}', notAfter: ${this.notAfter.toISOString()} }`;
  }
}
