// Protobuf binary encoding of messages given as init shapes (what create() accepts), driven by the generated
// descriptors: toBinary without create() first.
//
// Why: the builders describe each resource once, as the object literal create() would take. Creating the message
// (every field of a 52-field Cluster filled with its default, every nested message too) and walking it again in
// toBinary cost ~5x the bytes themselves at 10,000 services. This writer reads only the fields an init shape has,
// in field-number order like toBinary, with @bufbuild/protobuf's own BinaryWriter; it accepts full messages as
// well (a message is an init shape with every field present). test/envoy/binary.test.ts holds its output to
// toBinary(create(...)) for every example mesh and for random meshes.
//
// Shared parts are encoded once: a value registered with share() (memo.ts does it for everything it memoises, just
// before freezing it) keeps its bytes on itself (KEPT below), so the HTTP manager, SDS configs and filters that
// many resources have in common are written once per mesh, not once per resource.
import { create, fromJson, toBinary, ScalarType, type DescField, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { AnySchema, StructSchema, type Any } from '@bufbuild/protobuf/wkt';
import { rewind, varint, varintSize, writeString, written } from './writer-bytes.js';

type Writer = (w: BinaryWriter, value: Record<string, unknown>) => void;
type FieldWriter = (w: BinaryWriter, message: Record<string, unknown>) => void;

const compiled = new WeakMap<DescMessage, Writer>();

/**
 * The kept encoding of a shared value, with the type it was encoded as (the same object is never two types). It
 * hangs off the value itself (a non-enumerable symbol property, defined before the value is frozen), not in a
 * process-wide WeakSet and WeakMap: those held an entry per memoised value of every mesh, and one insertion that
 * grew the table cost a one-service reload 30 ms; their entries also cost every collection ephemeron work.
 */
const KEPT = Symbol('kept encoding');

interface Kept {
  desc: DescMessage | undefined;
  bytes: Uint8Array | undefined;
}

/** Values shared after they were frozen (no property can be added to them any more): rare. */
const keptApart = new WeakMap<object, Kept>();

/**
 * Marks a deep-frozen sub-message whose encoding may be kept and reused wherever it appears. Only for values
 * that can never change again (memo.ts deepFreeze shares them just before freezing them), and frozen (an
 * unfrozen one is written afresh each time); returns the value.
 */
export function share<T>(value: T): T {
  if (value && typeof value === 'object' && keptOf(value) === undefined) {
    const kept: Kept = { desc: undefined, bytes: undefined };
    if (Object.isExtensible(value)) Object.defineProperty(value, KEPT, { value: kept });
    else keptApart.set(value, kept);
  }
  return value;
}

function keptOf(value: object): Kept | undefined {
  return ((value as Record<symbol, unknown>)[KEPT] as Kept | undefined) ?? keptApart.get(value);
}

/**
 * The kept encoding of `value` if it was shared. Only frozen values can be (share() is for values that never
 * change), and telling an unfrozen object apart is a flag of its map: most messages written are the builders'
 * fresh, unfrozen init shapes.
 */
function sharedKept(value: object): Kept | undefined {
  return Object.isFrozen(value) ? keptOf(value) : undefined;
}

/** The binary encoding of `init` as a `schema` message; equal to toBinary(schema, create(schema, init)). */
export function encodeInit<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Uint8Array {
  const value = init as Record<string, unknown>;
  const kept = sharedKept(value);
  if (kept?.desc === schema) return kept.bytes!;
  const w = takeWriter();
  const base = top;
  try {
    writerOf(schema)(w, value);
  } catch (err) {
    unwind(base);
    dropWriter();
    throw err;
  }
  const bytes = w.finish();
  giveWriter();
  if (kept) {
    kept.desc = schema;
    kept.bytes = bytes;
  }
  return bytes;
}

/**
 * Writers kept between calls, one per level of nesting (a shared sub-message met for the first time is encoded
 * by a call inside the one writing the resource that holds it), so each buffer grows to the largest message of
 * its level once, not for every message.
 */
const writers: BinaryWriter[] = [];
let depth = 0;

function takeWriter(): BinaryWriter {
  return (writers[depth++] ??= new BinaryWriter());
}

function giveWriter(): void {
  depth--;
}

/** After a throw: the writer of this level is left half-written, so the next call at this level gets a new one. */
function dropWriter(): void {
  writers[--depth] = new BinaryWriter();
}

/** A message to encode wrapped in a google.protobuf.Any (what anyPack makes of it). */
export interface AnyInit<Desc extends DescMessage = DescMessage> {
  readonly typeUrl: string;
  readonly schema: Desc;
  readonly init: MessageInitShape<Desc>;
}

export interface EncodedAny {
  /** The google.protobuf.Any, byte for byte what toBinary(AnySchema, anyPack(schema, create(schema, init))) writes. */
  readonly any: Uint8Array;
  /** The message itself (the Any's value field): a view into `any`. */
  readonly value: Uint8Array;
}

// google.protobuf.Any
const ANY_TYPE_URL = 1;
const ANY_VALUE = 2;

/**
 * Several messages, each wrapped in an Any, written into one buffer and handed out as views of it.
 *
 * Why: a reload encodes every resource of a regenerated service and the cache keeps each as an Any. Encoding the
 * message, copying it into its own buffer, then copying it again into an Any envelope cost two allocations and
 * two copies per resource, and the garbage of 80,000 small buffers per 10,000 services. Written in one pass into
 * one buffer (the items are the fields of a notional `repeated Any`, cut apart again below), the bytes are
 * copied once and the buffer lives exactly as long as the resources that share it — one service's, replaced
 * together.
 */
export function encodeAnys(items: readonly AnyInit[]): EncodedAny[] {
  return encodeAnyViews(items).map((any, i) => new EncodedAnyView(any, items[i]!.typeUrl));
}

/**
 * encodeAnys' Anys alone: what the xDS cache keeps. The buffer is cut into its Anys by reading back the lengths
 * just written (a varint each, no reader objects): a reload encodes 80,000 resources, and a BinaryReader (with its
 * DataView) and a view per field read back were a good part of its garbage.
 *
 * `reuse(i, bytes)` may answer an Any already held with exactly these bytes (`bytes` is only valid during the
 * call): that one is handed back and only the others are copied out of the writer, into one new buffer. Why: a
 * full reload rebuilds every service and most resources come out as they were; copying all of them out (35 MB of
 * buffers outside the JS heap at 10,000 services) is what pushed V8 into a full collection on most reloads.
 */
export function encodeAnyViews(items: readonly AnyInit[], reuse?: (i: number, bytes: Uint8Array) => Uint8Array | undefined): Uint8Array[] {
  const w = takeWriter();
  const base = top;
  try {
    for (const item of items) {
      w.tag(1, WireType.LengthDelimited).fork();
      if (item.typeUrl) writeString(w.tag(ANY_TYPE_URL, WireType.LengthDelimited), item.typeUrl);
      writeMessageField(w, ANY_VALUE, item.schema, item.init as Record<string, unknown>);
      w.join();
    }
  } catch (err) {
    unwind(base);
    dropWriter();
    throw err;
  }
  // Without `reuse` (or with a writer that does not keep its bytes where we look), everything is copied out once.
  const inPlace = reuse ? written(w) : undefined;
  const buf = inPlace ?? w.finish();
  const out: (Uint8Array | undefined)[] = [];
  try {
    const starts: number[] = [];
    const lengths: number[] = [];
    let copied = 0;
    let pos = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      // Each item: tag (one byte, field 1), length, the Any.
      const len = varint(buf, pos + 1);
      const start = pos + 1 + varintSize(len);
      pos = start + len;
      // An empty message (its value field's tag and a zero length alone): toBinary leaves the Any's value field out
      // altogether (rare; never a named resource).
      if (len <= anyHeaderSize(item.typeUrl) + 2) out.push(toBinary(AnySchema, create(AnySchema, { typeUrl: item.typeUrl })));
      else if (!inPlace) out.push(buf.subarray(start, pos));
      else {
        const held = reuse!(i, buf.subarray(start, pos));
        out.push(held);
        if (held === undefined) copied += len;
      }
      starts.push(start);
      lengths.push(len);
    }
    if (inPlace) {
      // The Anys not held elsewhere, copied into one buffer of their own.
      const own = new Uint8Array(copied);
      let at = 0;
      for (let i = 0; i < items.length; i++) {
        if (out[i] !== undefined) continue;
        const len = lengths[i]!;
        own.set(buf.subarray(starts[i]!, starts[i]! + len), at);
        out[i] = own.subarray(at, at + len);
        at += len;
      }
    }
  } finally {
    // The writer is handed back empty whatever happens here.
    if (inPlace) rewind(w);
    giveWriter();
  }
  return out as Uint8Array[];
}

/** The bytes of an Any's type URL field: what is left when its value field is empty (and so left out). */
function anyHeaderSize(typeUrl: string): number {
  if (!typeUrl) return 0;
  const n = Buffer.byteLength(typeUrl);
  return 1 + varintSize(n) + n;
}

/** An Any of encodeAnys: its value is found when first asked for. */
class EncodedAnyView implements EncodedAny {
  #value: Uint8Array | undefined;
  constructor(
    readonly any: Uint8Array,
    private readonly typeUrl: string,
  ) {}
  get value(): Uint8Array {
    if (this.#value) return this.#value;
    // Skip the type URL field, then the value field's tag and length.
    let pos = anyHeaderSize(this.typeUrl);
    if (pos >= this.any.byteLength) return (this.#value = new Uint8Array(0));
    const len = varint(this.any, pos + 1);
    pos += 1 + varintSize(len);
    return (this.#value = this.any.subarray(pos, pos + len));
  }
}


/** How one key of a message's init shape is written: the field's number (for ordering) and its writer. */
interface Slot {
  /** A field: its number and writer; a oneof: the same per case. */
  readonly no: number;
  readonly write: ValueWriter;
  /** Values for which the field writes nothing. */
  readonly skip: ((v: unknown) => boolean) | undefined;
  readonly cases?: ReadonlyMap<string, Slot>;
}
type ValueWriter = (w: BinaryWriter, v: unknown) => void;

/**
 * The writer of a message type. It visits the keys the init shape has, not every field of the type: a Cluster has
 * 52 fields and a resource's init sets a handful, and looking up each absent one on every message of 10,000
 * services was the largest single cost of encoding. The keys present are written in field-number order, as
 * toBinary writes them (a small insertion sort over a shared stack: no allocation per message).
 */
function writerOf(desc: DescMessage): Writer {
  let writer = compiled.get(desc);
  if (writer) return writer;
  const slots = new Map<string, Slot>();
  writer = (w, m) => {
    const base = top;
    const end = collect(slots, m);
    for (let i = base; i < end; i++) stackSlot[i]!.write(w, stackValue[i]);
    // Children wrote above `end` and gave their part back; this message gives back its own.
    release(base, end);
  };
  if (desc.typeName === 'google.protobuf.Any') {
    const plain = writer;
    writer = (w, m) => {
      if (m instanceof PackedAny) PackedAny.write(w, m);
      else plain(w, m);
    };
  }
  // Registered before its fields are compiled: recursive types resolve to this writer.
  compiled.set(desc, writer);
  slotsOf.set(desc, slots);
  for (const f of desc.fields) {
    const slot: Slot = { no: f.number, write: valueWriter(f), skip: skipWhen(f) };
    if (!f.oneof) {
      slots.set(f.localName, slot);
      continue;
    }
    let group = slots.get(f.oneof.localName);
    if (!group) slots.set(f.oneof.localName, (group = { no: 0, write: () => undefined, skip: undefined, cases: new Map() }));
    (group.cases as Map<string, Slot>).set(f.localName, slot);
  }
  return writer;
}

const slotsOf = new WeakMap<DescMessage, Map<string, Slot>>();

/**
 * Pushes the fields `m` sets (those that write anything) onto the stack, in field-number order; returns the end.
 * This is the one place that says which fields are written.
 */
function collect(slots: Map<string, Slot>, m: Record<string, unknown>): number {
  const base = top;
  for (const key in m) {
    const slot = slots.get(key);
    if (slot === undefined) continue;
    let v = m[key];
    if (v === undefined) continue;
    let s = slot;
    if (slot.cases) {
      const sel = v as { case?: string; value?: unknown };
      const c = sel.case === undefined ? undefined : slot.cases.get(sel.case);
      if (c === undefined) continue;
      s = c;
      v = sel.value;
    }
    if (s.skip?.(v)) continue;
    // Insertion into [base, top) by field number.
    let i = top++;
    while (i > base && stackNo[i - 1]! > s.no) {
      stackNo[i] = stackNo[i - 1]!;
      stackSlot[i] = stackSlot[i - 1]!;
      stackValue[i] = stackValue[i - 1];
      i--;
    }
    stackNo[i] = s.no;
    stackSlot[i] = s;
    stackValue[i] = v;
  }
  return top;
}

function release(base: number, end: number): void {
  top = base;
  for (let i = base; i < end; i++) stackValue[i] = undefined;
}

/** Whether `init` encodes to no bytes at all (toBinary then leaves an Any's value out). */
function isEmpty(desc: DescMessage, init: Record<string, unknown>): boolean {
  writerOf(desc);
  const base = top;
  const end = collect(slotsOf.get(desc)!, init);
  release(base, end);
  return end === base;
}

/** Fields that write nothing for some values: implicit-presence zero scalars, empty lists and maps. */
function skipWhen(field: DescField): ((v: unknown) => boolean) | undefined {
  switch (field.fieldKind) {
    case 'list':
      return (v) => (v as unknown[]).length === 0;
    case 'map':
      return (v) => {
        for (const _ in v as object) return false;
        return true;
      };
    case 'message':
      return undefined;
    case 'enum':
    case 'scalar': {
      if (field.presence !== 2 || field.oneof) return undefined;
      const scalar = field.fieldKind === 'enum' ? ScalarType.INT32 : field.scalar;
      return (v) => isZero(scalar, v);
    }
  }
}

// ---------------------------------------------------------------- Anys packed from init shapes

/**
 * An Any made by packInit: its value is a message still given as (schema, init). The writer encodes that message
 * in place, inside whatever resource holds the Any, instead of into a buffer of its own that is then copied;
 * whoever reads `value` (create(), toJson, anyUnpack) gets the bytes, encoded once on first read. A class (value
 * a getter of its prototype; the init in private fields, which freezing leaves writable for the kept bytes)
 * rather than an object literal with its own getter closure and a property defined on it: the builders pack
 * tens of thousands of these per reload.
 */
class PackedAny {
  readonly $typeName = 'google.protobuf.Any';
  readonly #schema: DescMessage;
  readonly #init: Record<string, unknown>;
  #bytes: Uint8Array | undefined;
  constructor(
    readonly typeUrl: string,
    schema: DescMessage,
    init: Record<string, unknown>,
  ) {
    this.#schema = schema;
    this.#init = init;
  }
  get value(): Uint8Array {
    return (this.#bytes ??= encodeInit(this.#schema, this.#init as never));
  }
  static init(any: PackedAny): Record<string, unknown> {
    return any.#init;
  }
  static write(w: BinaryWriter, any: PackedAny): void {
    if (any.typeUrl) writeString(w.tag(ANY_TYPE_URL, WireType.LengthDelimited), any.typeUrl);
    const bytes = any.#bytes;
    if (bytes) {
      if (bytes.byteLength) w.tag(ANY_VALUE, WireType.LengthDelimited).bytes(bytes);
      return;
    }
    if (!isEmpty(any.#schema, any.#init)) writeMessageField(w, ANY_VALUE, any.#schema, any.#init);
  }
}

/** An Any holding `init` as a `schema` message, as anyPack would make it, encoded only when written or read. */
export function packInit<Desc extends DescMessage>(typeUrl: string, schema: Desc, init: MessageInitShape<Desc>): Any {
  return new PackedAny(typeUrl, schema, init as Record<string, unknown>) as unknown as Any;
}

/** The init shape of an Any made by packInit (undefined for any other value). */
export function packedInit(value: object): object | undefined {
  return value instanceof PackedAny ? PackedAny.init(value) : undefined;
}

/** The fields of the messages being written, nested messages above their parents (see writerOf). */
const stackNo: number[] = [];
const stackSlot: Slot[] = [];
const stackValue: unknown[] = [];
let top = 0;

/** After a throw: the stack back to where the outer call found it, holding no values. */
function unwind(base: number): void {
  for (let i = base; i < stackValue.length; i++) stackValue[i] = undefined;
  top = base;
}

/** Writes a field's value (present: the caller checked); implicit-presence zero scalars are left out. */
function valueWriter(field: DescField): ValueWriter {
  switch (field.fieldKind) {
    case 'list': {
      if (field.listKind === 'message') {
        const child = childWriter(field, field.message);
        return (w, v) => {
          const items = v as unknown[];
          for (let i = 0; i < items.length; i++) child(w, items[i]);
        };
      }
      const scalar = field.listKind === 'enum' ? ScalarType.INT32 : field.scalar;
      const no = field.number;
      if (field.packed) {
        return (w, v) => {
          const items = v as unknown[];
          w.tag(no, WireType.LengthDelimited).fork();
          for (let i = 0; i < items.length; i++) writeScalar(w, scalar, items[i]);
          w.join();
        };
      }
      return (w, v) => {
        const items = v as unknown[];
        for (let i = 0; i < items.length; i++) scalarField(w, no, scalar, items[i]);
      };
    }
    case 'map': {
      const no = field.number;
      const keyType = field.mapKey;
      const value: ValueWriter =
        field.mapKind === 'message'
          ? childWriter(field, field.message, 2)
          : ((scalar: ScalarType) => (w: BinaryWriter, v: unknown) => scalarField(w, 2, scalar, v))(field.mapKind === 'enum' ? ScalarType.INT32 : field.scalar);
      return (w, v) => {
        const record = v as Record<string, unknown>;
        for (const key of Object.keys(record)) {
          w.tag(no, WireType.LengthDelimited).fork();
          scalarField(w, 1, keyType, mapKey(keyType, key));
          value(w, record[key]);
          w.join();
        }
      };
    }
    case 'message':
      return childWriter(field, field.message);
    case 'enum':
    case 'scalar': {
      const scalar = field.fieldKind === 'enum' ? ScalarType.INT32 : field.scalar;
      const no = field.number;
      // (Implicit presence zero values never get here: skipWhen.)
      return (w, v) => scalarField(w, no, scalar, v);
    }
  }
}

/** A message-typed field: tag, length, contents (shared sub-messages from their kept bytes). */
function childWriter(field: DescField, desc: DescMessage, no = field.number): (w: BinaryWriter, v: unknown) => void {
  // google.protobuf.Struct fields hold a JSON object; singular wrapper fields outside a oneof hold the bare value.
  if (desc.typeName === 'google.protobuf.Struct' && field.parent.typeName !== 'google.protobuf.Value') {
    return (w, v) => void w.tag(no, WireType.LengthDelimited).bytes(toBinary(StructSchema, fromJson(StructSchema, v as never)));
  }
  if (field.fieldKind === 'message' && !field.oneof && isWrapper(desc)) {
    const inner = desc.fields[0]!;
    const scalar = inner.scalar!;
    return (w, v) => {
      w.tag(no, WireType.LengthDelimited).fork();
      if (!isZero(scalar, v)) scalarField(w, inner.number, scalar, v);
      w.join();
    };
  }
  return (w, v) => writeMessageField(w, no, desc, v as Record<string, unknown>);
}

function writeMessageField(w: BinaryWriter, no: number, desc: DescMessage, m: Record<string, unknown>): void {
  if (sharedKept(m) !== undefined) {
    w.tag(no, WireType.LengthDelimited).bytes(encodeInit(desc, m as never));
    return;
  }
  w.tag(no, WireType.LengthDelimited).fork();
  writerOf(desc)(w, m);
  w.join();
}

function isWrapper(desc: DescMessage): boolean {
  return desc.file.name === 'google/protobuf/wrappers' && desc.fields.length === 1;
}

function isZero(scalar: ScalarType, v: unknown): boolean {
  switch (scalar) {
    case ScalarType.BOOL:
      return v === false;
    case ScalarType.STRING:
      return v === '';
    case ScalarType.BYTES:
      return v instanceof Uint8Array && v.byteLength === 0;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return Object.is(v, 0);
    default:
      // Matches 0, 0n and "0" (64-bit integers may be strings).
      return v == 0;
  }
}

function mapKey(type: ScalarType, key: string): unknown {
  switch (type) {
    case ScalarType.STRING:
      return key;
    case ScalarType.BOOL:
      return key === 'true';
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return BigInt(key);
    default:
      return Number.parseInt(key, 10);
  }
}

function scalarField(w: BinaryWriter, no: number, scalar: ScalarType, v: unknown): void {
  w.tag(no, wireType(scalar));
  writeScalar(w, scalar, v);
}

function wireType(scalar: ScalarType): WireType {
  switch (scalar) {
    case ScalarType.BYTES:
    case ScalarType.STRING:
      return WireType.LengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
    case ScalarType.FLOAT:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

function writeScalar(w: BinaryWriter, scalar: ScalarType, v: unknown): void {
  const x = v as never;
  switch (scalar) {
    case ScalarType.STRING:
      writeString(w, x);
      return;
    case ScalarType.BOOL:
      w.bool(x);
      return;
    case ScalarType.DOUBLE:
      w.double(x);
      return;
    case ScalarType.FLOAT:
      w.float(x);
      return;
    case ScalarType.INT32:
      w.int32(x);
      return;
    case ScalarType.INT64:
      w.int64(x);
      return;
    case ScalarType.UINT64:
      w.uint64(x);
      return;
    case ScalarType.FIXED64:
      w.fixed64(x);
      return;
    case ScalarType.BYTES:
      w.bytes(x);
      return;
    case ScalarType.FIXED32:
      w.fixed32(x);
      return;
    case ScalarType.SFIXED32:
      w.sfixed32(x);
      return;
    case ScalarType.SFIXED64:
      w.sfixed64(x);
      return;
    case ScalarType.SINT64:
      w.sint64(x);
      return;
    case ScalarType.UINT32:
      w.uint32(x);
      return;
    case ScalarType.SINT32:
      w.sint32(x);
      return;
  }
}
