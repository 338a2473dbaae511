// Hand-written encoders for the response envelopes. Resources are encoded once (as Any bytes, cached by version)
// and only the small envelope differs per stream, so building a response is a few length prefixes and copies
// instead of a full protobuf serialisation per proxy. The field numbers are those of
// envoy/service/discovery/v3/discovery.proto; a test decodes every envelope with the generated schema.
import { createHash, hash } from 'node:crypto';
import { varintSize, writeVarint } from '../protobuf-wire.js';

const WIRE_LEN = 2;

// DiscoveryResponse
const DR_VERSION_INFO = 1;
const DR_RESOURCES = 2;
const DR_TYPE_URL = 4;
const DR_NONCE = 5;
// DeltaDiscoveryResponse
const DDR_SYSTEM_VERSION_INFO = 1;
const DDR_RESOURCES = 2;
const DDR_TYPE_URL = 4;
const DDR_NONCE = 5;
const DDR_REMOVED_RESOURCES = 6;
// Resource
const RES_VERSION = 1;
const RES_RESOURCE = 2;
const RES_NAME = 3;

/** A field of wire type LEN: key, length, payload. */
export class LenField {
  readonly size: number;
  constructor(
    readonly field: number,
    readonly payload: Uint8Array | LenField[],
    readonly payloadSize: number,
  ) {
    this.size = varintSize((field << 3) | WIRE_LEN) + varintSize(payloadSize) + payloadSize;
  }
}

/** Generic LEN-field writers (bytes, string, nested message) for messages encoded outside toBinary. */
export function bytesField(field: number, b: Uint8Array): LenField {
  return new LenField(field, b, b.byteLength);
}

export function stringField(field: number, s: string): LenField {
  return bytesField(field, Buffer.from(s, 'utf8'));
}

export function messageField(field: number, parts: LenField[]): LenField {
  return new LenField(field, parts, sumSizes(parts));
}

function sumSizes(parts: LenField[]): number {
  let n = 0;
  for (const p of parts) n += p.size;
  return n;
}

function writeFields(buf: Buffer, pos: number, parts: LenField[]): number {
  for (const p of parts) {
    pos = writeVarint(buf, pos, (p.field << 3) | WIRE_LEN);
    pos = writeVarint(buf, pos, p.payloadSize);
    if (p.payload instanceof Uint8Array) {
      buf.set(p.payload, pos);
      pos += p.payload.byteLength;
    } else {
      pos = writeFields(buf, pos, p.payload);
    }
  }
  return pos;
}

/** A message made of LEN fields, in one allocation. */
export function encodeMessage(parts: LenField[]): Buffer {
  const buf = Buffer.allocUnsafe(sumSizes(parts));
  writeFields(buf, 0, parts);
  return buf;
}

// google.protobuf.Any
const ANY_TYPE_URL = 1;
const ANY_VALUE = 2;

/** A google.protobuf.Any around already encoded bytes, as toBinary writes it (empty fields omitted). */
export function encodeAny(typeUrl: string, value: Uint8Array): Buffer {
  const parts: LenField[] = [];
  if (typeUrl) parts.push(stringField(ANY_TYPE_URL, typeUrl));
  if (value.byteLength) parts.push(bytesField(ANY_VALUE, value));
  return encodeMessage(parts);
}

/** A short version string derived from bytes: equal bytes, equal version. */
export function bytesVersion(bytes: Uint8Array): string {
  // One native call (no Hash object per resource); the same SHA-256 as ever, so versions stay what they were.
  return hash('sha256', bytes, 'hex').slice(0, 16);
}

export interface SotwEnvelope {
  readonly versionInfo: string;
  /** Each an encoded google.protobuf.Any. */
  readonly resources: readonly Uint8Array[];
  readonly typeUrl: string;
  readonly nonce: string;
}

/**
 * Every field of a SotW response but the nonce (which comes last on the wire), as the streams of one push share
 * it: after a rotation every subscriber gets the same version of the same resources, so the envelope is encoded
 * once and each stream only appends its nonce. A hit needs the very same resource buffers, not only the same
 * version string. Few entries (a push needs one per type and form), oldest dropped first.
 */
interface SotwPrefix {
  readonly resources: readonly Uint8Array[];
  readonly bytes: Buffer;
}
const sotwPrefixes = new Map<string, SotwPrefix>();
const SOTW_PREFIXES_MAX = 16;
/** Larger envelopes (a wildcard listener list, say) are rarely shared and not worth holding. */
const SOTW_PREFIX_MAX_BYTES = 256 * 1024;

function sameBuffers(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sotwPrefix(r: SotwEnvelope): Buffer {
  const key = `${r.typeUrl}\0${r.versionInfo}`;
  const hit = sotwPrefixes.get(key);
  if (hit && sameBuffers(hit.resources, r.resources)) return hit.bytes;
  const parts: LenField[] = [];
  if (r.versionInfo) parts.push(stringField(DR_VERSION_INFO, r.versionInfo));
  for (const any of r.resources) parts.push(bytesField(DR_RESOURCES, any));
  if (r.typeUrl) parts.push(stringField(DR_TYPE_URL, r.typeUrl));
  const bytes = encodeMessage(parts);
  if (bytes.length > SOTW_PREFIX_MAX_BYTES) return bytes;
  sotwPrefixes.delete(key);
  if (sotwPrefixes.size >= SOTW_PREFIXES_MAX) sotwPrefixes.delete(sotwPrefixes.keys().next().value!);
  sotwPrefixes.set(key, { resources: [...r.resources], bytes });
  return bytes;
}

export function encodeDiscoveryResponse(r: SotwEnvelope): Buffer {
  const prefix = sotwPrefix(r);
  const nonceBytes = r.nonce ? Buffer.byteLength(r.nonce, 'utf8') : 0;
  const nonceField = r.nonce ? varintSize((DR_NONCE << 3) | WIRE_LEN) + varintSize(nonceBytes) + nonceBytes : 0;
  const buf = Buffer.allocUnsafe(prefix.length + nonceField);
  prefix.copy(buf, 0);
  if (r.nonce) {
    let pos = writeVarint(buf, prefix.length, (DR_NONCE << 3) | WIRE_LEN);
    pos = writeVarint(buf, pos, nonceBytes);
    buf.write(r.nonce, pos, 'utf8');
  }
  return buf;
}

export interface DeltaResourceEntry {
  readonly name: string;
  readonly version: string;
  /** An encoded google.protobuf.Any. */
  readonly any: Uint8Array;
}

export interface DeltaEnvelope {
  readonly systemVersionInfo: string;
  readonly resources: readonly DeltaResourceEntry[];
  readonly typeUrl: string;
  readonly removedResources: readonly string[];
  readonly nonce: string;
}

export function encodeDeltaDiscoveryResponse(r: DeltaEnvelope): Buffer {
  const parts: LenField[] = [];
  if (r.systemVersionInfo) parts.push(stringField(DDR_SYSTEM_VERSION_INFO, r.systemVersionInfo));
  for (const res of r.resources) {
    const inner: LenField[] = [];
    if (res.version) inner.push(stringField(RES_VERSION, res.version));
    inner.push(bytesField(RES_RESOURCE, res.any));
    inner.push(stringField(RES_NAME, res.name));
    parts.push(messageField(DDR_RESOURCES, inner));
  }
  if (r.typeUrl) parts.push(stringField(DDR_TYPE_URL, r.typeUrl));
  if (r.nonce) parts.push(stringField(DDR_NONCE, r.nonce));
  for (const name of r.removedResources) parts.push(stringField(DDR_REMOVED_RESOURCES, name));
  return encodeMessage(parts);
}

/**
 * contentVersion(...parts), remembered by its input: every stream subscribed to the same names computes the
 * same version after a change, so per stream this is a string join and a map lookup instead of a SHA-256.
 * The key is the exact byte string that would be hashed, so a hit is the same version. Bounded: cleared when full.
 */
const listVersions = new Map<string, string>();
/** Bounded by the total length of the keys (about 2 MB of strings at most). */
const LIST_VERSIONS_MAX_CHARS = 1 << 20;
let listVersionsChars = 0;

export function listVersion(parts: readonly string[]): string {
  let key = '';
  for (const p of parts) key += `${p}\0`;
  let v = listVersions.get(key);
  if (v === undefined) {
    v = contentVersion(...parts);
    if (key.length > LIST_VERSIONS_MAX_CHARS / 16) return v;
    if (listVersionsChars + key.length > LIST_VERSIONS_MAX_CHARS) {
      listVersions.clear();
      listVersionsChars = 0;
    }
    listVersions.set(key, v);
    listVersionsChars += key.length;
  }
  return v;
}

/** A short version string derived from content, so identical content always has the same version. */
export function contentVersion(...parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}
