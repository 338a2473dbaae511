// Helpers around @bufbuild/protobuf's BinaryWriter for the generic writer (binary.ts): long strings written from
// kept UTF-8 bytes, the bytes written so far read in place (no copy), and varints read back from them.
import type { BinaryWriter } from '@bufbuild/protobuf/wire';

/**
 * What `w` has written so far, as a view of its own buffer (valid until it writes again), read from the fields
 * @bufbuild/protobuf's BinaryWriter keeps them in; undefined if a version of it keeps them elsewhere (the callers
 * then copy them out with finish(), as before).
 */
export function written(w: BinaryWriter): Uint8Array | undefined {
  const inside = w as unknown as { buffer?: unknown; pos?: unknown };
  return inside.buffer instanceof Uint8Array && typeof inside.pos === 'number' ? inside.buffer.subarray(0, inside.pos) : undefined;
}

/** Empties `w` after written() was read (what finish() does, without the copy). */
export function rewind(w: BinaryWriter): void {
  (w as unknown as { pos: number }).pos = 0;
}

/** A uint32 varint at `pos` of bytes just written (no reader object). */
export function varint(b: Uint8Array, pos: number): number {
  let v = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = b[pos++]!;
    v += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return v;
  }
}

/** How many bytes the uint32 varint of `v` takes. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) (v = Math.floor(v / 128)), n++;
  return n;
}

/**
 * Strings longer than the writer's ASCII fast path (32 code units: type URLs, SPIFFE IDs, secret names) are
 * written from their UTF-8 bytes, kept per string: the writer's own way encodes each through TextEncoder into a
 * fresh view of its buffer, and a reload writes hundreds of thousands of them, mostly the same few thousand.
 * Equal bytes either way (UTF-8 of the string, length first). The table is emptied when it holds LONG_STRINGS.
 */
export function writeString(w: BinaryWriter, s: string): void {
  // (Not a string: the writer's own way, which converts it first.)
  if (typeof s !== 'string' || s.length <= 32) {
    w.string(s);
    return;
  }
  let bytes = utf8.get(s);
  if (bytes === undefined) {
    if (utf8.size >= LONG_STRINGS) utf8.clear();
    utf8.set(s, (bytes = utf8Encoder.encode(s)));
  }
  w.bytes(bytes);
}

const LONG_STRINGS = 50_000;
const utf8 = new Map<string, Uint8Array>();
const utf8Encoder = new TextEncoder();
