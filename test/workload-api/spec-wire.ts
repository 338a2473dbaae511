// The SPIFFE Workload API as the tests speak it, written from the spec alone (SPIFFE_Workload_API.md: message and
// field list, method paths /SpiffeWorkloadAPI/<Method>, the workload.spiffe.io header) — not from trustplane's
// proto or code. A tiny protobuf wire codec for the messages the tests use, a client making raw grpc-js calls, and
// the pieces of a minimal independent server.
import * as grpc from '@grpc/grpc-js';

// ---- protobuf wire format (varint, length-delimited) ----

interface Field {
  readonly no: number;
  readonly wire: number;
  readonly bytes?: Buffer;
  readonly varint?: bigint;
}

function readVarint(b: Buffer, pos: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const byte = b[pos++];
    if (byte === undefined) throw new Error('truncated varint');
    v |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [v, pos];
    shift += 7n;
  }
}

export function decodeFields(b: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < b.length) {
    const [key, p1] = readVarint(b, pos);
    pos = p1;
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, p2] = readVarint(b, pos);
      pos = p2;
      out.push({ no, wire, varint: v });
    } else if (wire === 2) {
      const [len, p2] = readVarint(b, pos);
      const end = p2 + Number(len);
      if (end > b.length) throw new Error('truncated field');
      out.push({ no, wire, bytes: b.subarray(p2, end) });
      pos = end;
    } else if (wire === 1) {
      out.push({ no, wire, bytes: b.subarray(pos, pos + 8) });
      pos += 8;
    } else if (wire === 5) pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

export function lenField(no: number, payload: Buffer | string): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([varint((no << 3) | 2), varint(p.length), p]);
}

const str = (f: Field | undefined): string => f?.bytes?.toString('utf8') ?? '';
const bytes = (f: Field | undefined): Buffer => f?.bytes ?? Buffer.alloc(0);

function decodeMap(fields: Field[], no: number): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const f of fields.filter((x) => x.no === no)) {
    const entry = decodeFields(f.bytes!);
    out[str(entry.find((e) => e.no === 1))] = bytes(entry.find((e) => e.no === 2));
  }
  return out;
}

// ---- the spec's messages ----

export interface SpecX509Svid {
  spiffeId: string; // 1
  x509Svid: Buffer; // 2: DER chain, leaf first
  x509SvidKey: Buffer; // 3: PKCS#8 DER
  bundle: Buffer; // 4: DER certificates
  hint: string; // 5
}

export interface SpecX509SvidResponse {
  svids: SpecX509Svid[]; // 1
  crl: Buffer[]; // 2
  federatedBundles: Record<string, Buffer>; // 3, keyed spiffe://<td>
}

export interface SpecX509BundlesResponse {
  crl: Buffer[]; // 1
  bundles: Record<string, Buffer>; // 2
}

export function decodeX509SvidResponse(b: Buffer): SpecX509SvidResponse {
  const fields = decodeFields(b);
  return {
    svids: fields
      .filter((f) => f.no === 1)
      .map((f) => {
        const s = decodeFields(f.bytes!);
        const one = (n: number): Field | undefined => s.find((x) => x.no === n);
        return { spiffeId: str(one(1)), x509Svid: bytes(one(2)), x509SvidKey: bytes(one(3)), bundle: bytes(one(4)), hint: str(one(5)) };
      }),
    crl: fields.filter((f) => f.no === 2).map((f) => f.bytes!),
    federatedBundles: decodeMap(fields, 3),
  };
}

export function decodeX509BundlesResponse(b: Buffer): SpecX509BundlesResponse {
  const fields = decodeFields(b);
  return { crl: fields.filter((f) => f.no === 1).map((f) => f.bytes!), bundles: decodeMap(fields, 2) };
}

export function encodeX509SvidResponse(r: { svids: Omit<SpecX509Svid, 'hint'>[]; federatedBundles?: Record<string, Buffer> }): Buffer {
  const parts: Buffer[] = [];
  for (const s of r.svids) {
    parts.push(lenField(1, Buffer.concat([lenField(1, s.spiffeId), lenField(2, s.x509Svid), lenField(3, s.x509SvidKey), lenField(4, s.bundle)])));
  }
  for (const [k, v] of Object.entries(r.federatedBundles ?? {})) parts.push(lenField(3, Buffer.concat([lenField(1, k), lenField(2, v)])));
  return Buffer.concat(parts);
}

// JWT-SVID profile
export function encodeJwtSvidRequest(audience: string[], spiffeId = ''): Buffer {
  return Buffer.concat([...audience.map((a) => lenField(1, a)), ...(spiffeId ? [lenField(2, spiffeId)] : [])]);
}

export function decodeJwtSvidResponse(b: Buffer): { spiffeId: string; svid: string; hint: string }[] {
  return decodeFields(b)
    .filter((f) => f.no === 1)
    .map((f) => {
      const s = decodeFields(f.bytes!);
      return { spiffeId: str(s.find((x) => x.no === 1)), svid: str(s.find((x) => x.no === 2)), hint: str(s.find((x) => x.no === 3)) };
    });
}

export function decodeJwtBundlesResponse(b: Buffer): Record<string, Buffer> {
  return decodeMap(decodeFields(b), 1);
}

export function encodeValidateJwtSvidRequest(audience: string, svid: string): Buffer {
  return Buffer.concat([lenField(1, audience), lenField(2, svid)]);
}

/** google.protobuf.Value (1 null, 2 number, 3 string, 4 bool, 5 struct, 6 list) as JSON. */
function decodeValue(b: Buffer): unknown {
  const f = decodeFields(b)[0];
  if (!f) return null;
  switch (f.no) {
    case 1:
      return null;
    case 2:
      return f.bytes!.readDoubleLE(0);
    case 3:
      return str(f);
    case 4:
      return f.varint === 1n;
    case 5:
      return decodeStruct(f.bytes!);
    case 6:
      return decodeFields(f.bytes!).filter((x) => x.no === 1).map((x) => decodeValue(x.bytes!));
    default:
      throw new Error(`unknown Value field ${f.no}`);
  }
}

/** google.protobuf.Struct (1: map<string, Value>) as a JSON object. */
export function decodeStruct(b: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of decodeFields(b).filter((x) => x.no === 1)) {
    const entry = decodeFields(f.bytes!);
    out[str(entry.find((e) => e.no === 1))] = decodeValue(bytes(entry.find((e) => e.no === 2)));
  }
  return out;
}

export function decodeValidateJwtSvidResponse(b: Buffer): { spiffeId: string; claims: Record<string, unknown> } {
  const fields = decodeFields(b);
  return { spiffeId: str(fields.find((f) => f.no === 1)), claims: decodeStruct(bytes(fields.find((f) => f.no === 2))) };
}

/** Splits concatenated DER certificates (each a SEQUENCE with a definite length). */
export function splitDer(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < b.length) {
    if (b[pos] !== 0x30) throw new Error(`not a DER SEQUENCE at ${pos}`);
    let len = b[pos + 1]!;
    let head = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[pos + 2 + i]!;
      head = 2 + n;
    }
    out.push(b.subarray(pos, pos + head + len));
    pos += head + len;
  }
  return out;
}

// ---- client: raw grpc-js calls ----

export const PATH = {
  FetchX509SVID: '/SpiffeWorkloadAPI/FetchX509SVID',
  FetchX509Bundles: '/SpiffeWorkloadAPI/FetchX509Bundles',
  FetchJWTSVID: '/SpiffeWorkloadAPI/FetchJWTSVID',
  FetchJWTBundles: '/SpiffeWorkloadAPI/FetchJWTBundles',
  ValidateJWTSVID: '/SpiffeWorkloadAPI/ValidateJWTSVID',
  FetchWITSVID: '/SpiffeWorkloadAPI/FetchWITSVID',
  FetchWITBundles: '/SpiffeWorkloadAPI/FetchWITBundles',
} as const;

/** Metadata with the security header as the spec requires it, or as a test wants it (null: absent). */
export function header(value: string | null = 'true'): grpc.Metadata {
  const md = new grpc.Metadata();
  if (value !== null) md.set('workload.spiffe.io', value);
  return md;
}

/** A server stream whose messages arrive in order, awaited one at a time; ends with the gRPC status. */
export class SpecStream<T> {
  readonly #queue: T[] = [];
  readonly #waiters: Array<{ ok: (v: T) => void; fail: (e: grpc.ServiceError) => void }> = [];
  #error: grpc.ServiceError | undefined;

  constructor(readonly call: grpc.ClientReadableStream<T>) {
    call.on('data', (m: T) => {
      const w = this.#waiters.shift();
      if (w) w.ok(m);
      else this.#queue.push(m);
    });
    call.on('error', (e: grpc.ServiceError) => {
      this.#error = e;
      for (const w of this.#waiters.splice(0)) w.fail(e);
    });
  }

  /** The next message; rejects with the stream's status if it ends first. */
  next(): Promise<T> {
    const m = this.#queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((ok, fail) => this.#waiters.push({ ok, fail }));
  }

  /** Messages received and not yet taken. */
  get buffered(): number {
    return this.#queue.length;
  }

  cancel(): void {
    this.call.cancel();
  }
}

export class SpecClient {
  readonly client: grpc.Client;
  constructor(socketPath: string) {
    this.client = new grpc.Client(`unix:${socketPath}`, grpc.credentials.createInsecure());
  }

  #stream<T>(path: string, decode: (b: Buffer) => T, md: grpc.Metadata): SpecStream<T> {
    return new SpecStream(this.client.makeServerStreamRequest(path, (b: Buffer) => b, decode, Buffer.alloc(0), md));
  }

  fetchX509Svid(md = header()): SpecStream<SpecX509SvidResponse> {
    return this.#stream(PATH.FetchX509SVID, decodeX509SvidResponse, md);
  }

  fetchX509Bundles(md = header()): SpecStream<SpecX509BundlesResponse> {
    return this.#stream(PATH.FetchX509Bundles, decodeX509BundlesResponse, md);
  }

  /** Any server-streaming method, raw bytes out. */
  rawStream(path: string, request: Buffer, md = header()): SpecStream<Buffer> {
    return new SpecStream(this.client.makeServerStreamRequest(path, (b: Buffer) => b, (b: Buffer) => b, request, md));
  }

  /** Any unary method: the raw response or the status. */
  unary(path: string, request: Buffer, md = header()): Promise<Buffer> {
    return new Promise((ok, fail) => this.client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, request, md, (err, res) => (err ? fail(err) : ok(res!))));
  }

  close(): void {
    this.client.close();
  }
}
