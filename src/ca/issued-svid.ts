// What minting returns. Parsing DER into a node:crypto X509Certificate costs more than generating the key and
// signing together (OpenSSL 3.0 decodes the public key through its slow provider decoders, ~0.3–0.5 ms), so the
// leaf is parsed on first access to `chain`, once, and only by whoever needs the object. Serving needs only PEM,
// which comes straight from the DER that was just built (`chainPem`): the SDS path never parses a fresh leaf.
import { X509Certificate } from 'node:crypto';
import { certificatesToPem, derToPem } from '../spiffe/pem.js';
import type { X509SvidRecord } from '../store/identity-store.js';

/** The PEM of each intermediates list, worked out once: every SVID a CA signs shares the same list. */
const tailPem = new WeakMap<readonly X509Certificate[], string>();

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
  #chainPem: string | undefined;

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

  /** The chain as PEM blocks, leaf first: from the DER, without parsing it. */
  get chainPem(): string {
    if (this.#chainPem === undefined) {
      let tail = tailPem.get(this.intermediates);
      if (tail === undefined) tailPem.set(this.intermediates, (tail = certificatesToPem(this.intermediates)));
      this.#chainPem = derToPem(this.leafDer) + tail;
    }
    return this.#chainPem;
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
