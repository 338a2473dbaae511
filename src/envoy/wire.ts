// A minimal protobuf writer for the generator's hot path (sidecar-wire.ts), which writes a service's listeners
// and clusters straight to bytes instead of creating @bufbuild/protobuf messages and encoding them: creating a
// Cluster (52 fields) or Listener (33) and walking every field again in toBinary cost more than the bytes
// themselves. Resources are written one after the other into a slab (a fresh one when it is full) and handed out
// as views of it, so there is no copy and no allocation per resource; a nested message reserves one byte for its
// length and shifts its contents only when it turns out longer than 127 bytes. Field numbers are read from the
// generated descriptors (fieldNo), never typed in, and test/envoy/wire.test.ts proves the bytes equal toBinary's.
import type { DescMessage } from '@bufbuild/protobuf';
import { varintSize } from '../protobuf-wire.js';

const LEN = 2;
const VARINT = 0;

/** The number of `localName` in `schema`, looked up once at module load (a typo fails there, not in the output). */
export function fieldNo(schema: DescMessage, localName: string): number {
  const f = schema.field[localName];
  if (!f) throw new Error(`${schema.typeName} has no field ${localName}`);
  return f.number;
}

/** type.googleapis.com/<full name>: the type URL anyPack writes. */
export function typeUrlOf(schema: DescMessage): string {
  return `type.googleapis.com/${schema.typeName}`;
}

const encoder = new TextEncoder();

export class WireWriter {
  readonly #slabSize: number;
  #buf: Uint8Array;
  /** Where the resource being written starts; bytes before it belong to views already handed out. */
  #start = 0;
  #pos = 0;
  /** Start offsets (after the reserved length byte) of the open nested messages. */
  readonly #open: number[] = [];

  /** slabSize: bytes per slab; the views of one slab keep all of it alive. */
  constructor(slabSize = 256 * 1024) {
    this.#slabSize = slabSize;
    this.#buf = new Uint8Array(slabSize);
  }

  /** Room for n more bytes: a new slab when this one is full, the current resource's bytes moved over. */
  #reserve(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const used = this.#pos - this.#start;
    let size = this.#slabSize;
    while (size < used + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(this.#start, this.#pos));
    for (let i = 0; i < this.#open.length; i++) this.#open[i]! -= this.#start;
    this.#buf = next;
    this.#start = 0;
    this.#pos = used;
  }

  /** An unsigned varint (non-negative integers below 2^53). */
  varint(n: number): this {
    this.#reserve(10);
    const buf = this.#buf;
    let pos = this.#pos;
    while (n >= 0x80) {
      buf[pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    buf[pos++] = n;
    this.#pos = pos;
    return this;
  }

  tag(no: number, wireType: number): this {
    return this.varint(no * 8 + wireType);
  }

  /** A varint field (uint32, non-negative int32/int64, enum, bool as 0/1), written whatever its value. */
  uint(no: number, value: number): this {
    return this.tag(no, VARINT).varint(value);
  }

  /** A string field, written even when empty (oneof members, explicit presence). */
  stringAlways(no: number, s: string): this {
    this.tag(no, LEN);
    const n = s.length;
    // ASCII, the usual case: one byte per UTF-16 unit, length known in advance.
    this.#reserve(n + 10);
    const start = this.#pos;
    const lenSize = varintSize(n);
    const buf = this.#buf;
    let p = start + lenSize;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return this.#stringUtf8(start, s);
      buf[p++] = c;
    }
    this.varint(n);
    this.#pos = p;
    return this;
  }

  #stringUtf8(start: number, s: string): this {
    this.#pos = start;
    return this.bytesAlways(encoder.encode(s));
  }

  /** A string field with implicit presence: skipped when empty, as toBinary does. */
  string(no: number, s: string): this {
    return s === '' ? this : this.stringAlways(no, s);
  }

  /** Length and contents (after a tag written by the caller). */
  bytesAlways(b: Uint8Array): this {
    this.varint(b.length);
    this.#reserve(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
    return this;
  }

  /** Bytes already encoded, fields included (see fieldBytes). */
  raw(b: Uint8Array): this {
    this.#reserve(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
    return this;
  }

  /** Opens a nested message (or bytes) field; close it with end(). */
  begin(no: number): this {
    this.tag(no, LEN);
    this.#reserve(1);
    this.#pos++;
    this.#open.push(this.#pos);
    return this;
  }

  /** Closes the innermost open field, writing its length. */
  end(): this {
    const len = this.#pos - this.#open.at(-1)!;
    if (len < 0x80) {
      this.#buf[this.#open.pop()! - 1] = len;
      return this;
    }
    const extra = varintSize(len) - 1;
    this.#reserve(extra); // before taking the offset: a new slab moves it
    const start = this.#open.pop()!;
    const buf = this.#buf;
    buf.copyWithin(start + extra, start, this.#pos);
    let p = start - 1;
    let n = len;
    while (n >= 0x80) {
      buf[p++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    buf[p] = n;
    this.#pos += extra;
    return this;
  }

  /**
   * Closes a field with implicit presence (Any.value): when nothing was written into it, the field is removed,
   * tag and all, as toBinary omits empty bytes.
   */
  endImplicit(tagStart: number): this {
    const start = this.#open.at(-1)!;
    if (this.#pos === start) {
      this.#open.pop();
      this.#pos = tagStart;
      return this;
    }
    return this.end();
  }

  /** Where the next byte goes; with endImplicit, to drop an empty field. */
  get position(): number {
    return this.#pos;
  }

  /** Drops whatever an interrupted resource left behind. */
  reset(): void {
    this.#pos = this.#start;
    this.#open.length = 0;
  }

  /** The bytes written since the last finish() (a view of the slab, never written again). */
  finish(): Uint8Array {
    if (this.#open.length) throw new Error(`wire writer finished with ${this.#open.length} open fields`);
    const out = this.#buf.subarray(this.#start, this.#pos);
    this.#start = this.#pos;
    return out;
  }
}

/** A field holding an already encoded message: tag, length, bytes; ready for WireWriter.raw. */
export function fieldBytes(no: number, message: Uint8Array): Uint8Array {
  const w = new WireWriter(message.length + 16);
  w.tag(no, LEN).bytesAlways(message);
  return w.finish();
}
