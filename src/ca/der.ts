// A minimal DER (X.690) encoder and reader: exactly what X.509 certificate building needs, no more. The general
// ASN.1 libraries build an object tree per certificate; the minting hot path cannot afford that.

/** The identifier-and-length octets of a TLV whose content is `length` bytes long. */
export function header(tag: number, length: number): Buffer {
  if (length < 0x80) return Buffer.from([tag, length]);
  if (length < 0x100) return Buffer.from([tag, 0x81, length]);
  if (length < 0x10000) return Buffer.from([tag, 0x82, length >> 8, length & 0xff]);
  if (length < 0x1000000) return Buffer.from([tag, 0x83, length >> 16, (length >> 8) & 0xff, length & 0xff]);
  throw new RangeError(`DER content of ${length} bytes is longer than this encoder supports (16 MiB)`);
}

export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = content.length === 1 ? content[0]! : Buffer.concat(content);
  return Buffer.concat([header(tag, body.length), body]);
}

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export const seq = (...parts: Buffer[]): Buffer => tlv(Tag.SEQUENCE, ...parts);
export const set = (...parts: Buffer[]): Buffer => tlv(Tag.SET, ...parts);
export const octetString = (b: Buffer): Buffer => tlv(Tag.OCTET_STRING, b);
export const nullValue = (): Buffer => Buffer.from([Tag.NULL, 0]);
export const bool = (v: boolean): Buffer => Buffer.from([Tag.BOOLEAN, 1, v ? 0xff : 0]);
export const utf8 = (s: string): Buffer => tlv(Tag.UTF8_STRING, Buffer.from(s, 'utf8'));
export const printable = (s: string): Buffer => tlv(Tag.PRINTABLE_STRING, Buffer.from(s, 'latin1'));
/** Context-specific [n], constructed (EXPLICIT tagging or IMPLICIT over a constructed type). */
export const explicit = (n: number, ...parts: Buffer[]): Buffer => tlv(0xa0 | n, ...parts);
/** Context-specific [n], primitive (IMPLICIT over a primitive type). */
export const implicitPrimitive = (n: number, content: Buffer): Buffer => tlv(0x80 | n, content);

/** BIT STRING holding whole bytes (no unused bits), as used for keys and signatures. */
export function bitString(bytes: Buffer): Buffer {
  return tlv(Tag.BIT_STRING, Buffer.from([0]), bytes);
}

/** BIT STRING for a named bit list (e.g. KeyUsage): bit 0 is the most significant bit of the first byte. */
export function namedBits(bits: readonly number[]): Buffer {
  if (bits.length === 0) return Buffer.from([Tag.BIT_STRING, 1, 0]);
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc((highest >> 3) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  // DER: trailing zero bits are removed and counted as unused.
  const unused = 7 - (highest & 7);
  return tlv(Tag.BIT_STRING, Buffer.from([unused]), bytes);
}

/** INTEGER from unsigned big-endian magnitude bytes. */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const trimmed = magnitude.subarray(i);
  return trimmed.length > 0 && trimmed[0]! & 0x80
    ? tlv(Tag.INTEGER, Buffer.from([0]), trimmed)
    : tlv(Tag.INTEGER, trimmed.length ? trimmed : Buffer.from([0]));
}

export const smallInteger = (n: number): Buffer => unsignedInteger(Buffer.from([n >> 24, n >> 16, n >> 8, n].map((x) => x & 0xff)));

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [];
  const push = (v: number): void => {
    const stack = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) stack.unshift((v & 0x7f) | 0x80);
    out.push(...stack);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(Tag.OID, Buffer.from(out));
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; seconds precision, always Zulu. */
export function time(ms: number): Buffer {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const rest =
    pad2(d.getUTCMonth() + 1) + pad2(d.getUTCDate()) + pad2(d.getUTCHours()) + pad2(d.getUTCMinutes()) + pad2(d.getUTCSeconds()) + 'Z';
  if (y >= 1950 && y < 2050) return tlv(Tag.UTC_TIME, Buffer.from(pad2(y % 100) + rest, 'latin1'));
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(String(y).padStart(4, '0') + rest, 'latin1'));
}

/** One decoded TLV: where its content lies inside the buffer it was read from. */
export interface Tlv {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the content. */
  readonly end: number;
}

/** Reads the TLV at `offset`; throws RangeError on truncated or non-DER lengths. */
export function readTlv(buf: Buffer, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw new RangeError(`truncated DER at offset ${offset}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new RangeError(`multi-byte DER tag at offset ${offset} is not supported`);
  let len = buf[offset + 1]!;
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new RangeError(`unsupported DER length form at offset ${offset}`);
    if (p + n > limit) throw new RangeError(`truncated DER length at offset ${offset}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
  }
  if (p + len > limit) throw new RangeError(`DER value at offset ${offset} runs past its container`);
  return { tag, start: offset, contentStart: p, end: p + len };
}

/** The children of a constructed TLV. */
export function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.contentStart; p < parent.end; ) {
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

export const raw = (buf: Buffer, t: Tlv): Buffer => buf.subarray(t.start, t.end);
export const content = (buf: Buffer, t: Tlv): Buffer => buf.subarray(t.contentStart, t.end);
