// Push fan-out: N concurrent SDS streams (clients in another process, over loopback TCP), the time from one CA
// rotation to every stream holding the new bundle (p50, p99), and server memory per idle stream — beside the
// ceiling measured in the same run: the same fan-out of a same-size message through a bare @grpc/grpc-js server.
//   node --expose-gc dist/bench/push.js [--streams 1000,10000] [--per-connection 10,1] [--runs 1] [--memory-pairs 5]
//     [--bare-decodes]
// Every combination of streams and streams per connection runs, up to 2,000 connections (so one stream per
// connection runs at 1,000 streams): memory per idle stream depends on it, bare grpc-js's too.
// One file plays both roles: the parent runs the servers, `push.js client ...` (forked) runs the streams.
//
// What makes the ceiling a fair one. Both servers are driven by the very same client code over the very same
// method (SDS StreamSecrets): a real proxy must decode every response envelope and answer it with an ACK, so the
// client does that for both, and both servers receive the same ACK bytes (the bare one ignores them; reading
// them off the socket is transport cost it shares, interpreting them is xDS logic it has not got). The bare
// server sends a valid DiscoveryResponse of exactly the size the xDS server sent, before and after the
// rotation (a rotation adds a CA, so the response grows), encoded once and written as-is to every stream: no
// per-stream work beyond call.write, which is the ceiling's definition.
//
// Server and client share the machine (two cores on the project's boxes), so at 10,000 streams the client's
// decode-and-ACK work bounds both figures; the server CPU column (process CPU from the rotation until the last
// stream holds it, ACKs included) shows the server's own cost beside the ceiling's. Ratios are per pair, run
// back to back; --runs N repeats the pairs and prints ranges. PUSH_PROFILE=prefix writes a CPU profile of the
// server over the rotation window only; PUSH_HEAP_SNAPSHOT=prefix writes heap snapshots of each server before
// and after the measured streams (compare them per constructor to see what a stream holds).
//
// Memory per idle stream, so that it compares from run to run: the marginal cost of the second half of the
// streams (see warmStreams). Every server process runs with its young generation pinned at V8's default maximum
// (16 MB semi-spaces): otherwise it grows under the burst of connections, some runs and not others, and its
// growth (about 29 KB per stream at 1,000 streams) would be counted as per-stream memory; it is touched in full
// before the first sample. Each sample is taken once memory has settled after two full GCs (see settle()). At one
// stream per connection (the case the goal is about) --memory-pairs pairs (5 by default) run, each server in a
// fresh process, alternating which runs first; the summary gives the median xDS/bare ratio of RSS and of JS heap
// with the range over the pairs.
import * as grpc from '@grpc/grpc-js';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import { Session } from 'node:inspector';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { SecretSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/secret_pb';
import { DiscoveryRequestSchema, DiscoveryResponseSchema } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { secretDiscoveryService } from '../src/xds/server/services.js';
import { caCert, TD } from './bench-pki.js';
import { systemClock } from '../src/clock.js';
import { X509Bundle } from '../src/spiffe/bundle.js';
import { TrustDomain } from '../src/spiffe/trust-domain.js';
import { IdentityStore } from '../src/store/identity-store.js';
import { TableIdentityPolicy } from '../src/xds/policy.js';
import { ResourceCache } from '../src/xds/cache/resource-cache.js';
import { XdsServer } from '../src/xds/server/server.js';
import { insecureAuthenticator } from '../src/xds/transport/fixed-authenticator.js';

const SECRET_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

const now = (): number => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- servers under test

/** A server under test: registers its service, and `rotate()` makes every stream receive one new message. */
interface ServerUnderTest {
  readonly kind: 'bare' | 'xds';
  readonly method: string;
  register(server: grpc.Server): void;
  rotate(): void;
  close(): void;
}

const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };

/**
 * A Secret DiscoveryResponse of exactly `bytes` bytes (a validation context padded with filler), so the bare
 * server's messages cost the client the same decode as the real ones.
 */
function paddedResponse(bytes: number, version: string): Buffer {
  const encode = (pad: number) =>
    Buffer.from(
      toBinary(
        DiscoveryResponseSchema,
        create(DiscoveryResponseSchema, {
          versionInfo: version,
          typeUrl: SECRET_TYPE,
          nonce: version,
          resources: [
            anyPack(
              SecretSchema,
              create(SecretSchema, {
                name: 'ROOTCA',
                type: { case: 'validationContext', value: { trustedCa: { specifier: { case: 'inlineBytes', value: Buffer.alloc(pad, 0x41) } } } },
              }),
            ),
          ],
        }),
      ),
    );
  // Length prefixes grow with the padding, so step towards the exact size.
  let pad = Math.max(0, bytes - 100);
  for (let i = 0; i < 8; i++) {
    const diff = bytes - encode(pad).length;
    if (diff === 0) break;
    pad = Math.max(0, pad + diff);
  }
  const out = encode(pad);
  if (out.length !== bytes) throw new Error(`bench: cannot build a ${bytes}-byte response (got ${out.length})`);
  return out;
}

/**
 * The ceiling: no protocol, no state but the set of open calls; one pre-built message written to each. Same
 * method path as SDS so the client is identical; requests (the first one and every ACK) arrive as raw bytes.
 */
function bareServer(sizes: MessageSizes, decodes: boolean): ServerUnderTest {
  const calls = new Set<grpc.ServerDuplexStream<Buffer, Buffer>>();
  const initial = paddedResponse(sizes.initial, 'v1');
  const rotated = paddedResponse(sizes.rotated, 'v2');
  let message = initial;
  const path = secretDiscoveryService.StreamSecrets.path;
  return {
    kind: 'bare',
    method: path,
    register(server) {
      const def = {
        stream: {
          path,
          requestStream: true,
          responseStream: true,
          requestSerialize: raw.serialize,
          // --bare-decodes: requests decoded into messages, as any typed gRPC service does (and an xDS server must).
          requestDeserialize: decodes ? (b: Buffer) => fromBinary(DiscoveryRequestSchema, b) : raw.deserialize,
          responseSerialize: raw.serialize,
          responseDeserialize: raw.deserialize,
        },
      } satisfies grpc.ServiceDefinition;
      server.addService(def, {
        stream: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
          calls.add(call);
          call.once('data', () => call.write(message));
          call.on('error', () => calls.delete(call));
          call.on('end', () => {
            calls.delete(call);
            call.end();
          });
        },
      });
    },
    rotate() {
      message = message === initial ? rotated : initial;
      for (const c of calls) c.write(message);
    },
    close() {
      calls.clear();
    },
  };
}



/** The real xDS server, serving ROOTCA from the identity store; a rotation replaces the bundle in the store. */
async function xdsServer(): Promise<ServerUnderTest> {
  const td = TrustDomain.parse(TD);
  const store = new IdentityStore(TD);
  const [a, b] = await Promise.all([caCert('a'), caCert('b')]);
  store.setBundle(new X509Bundle(td, [a!]));
  // Every bench stream is the one insecure principal: the per-principal stream limit is raised to the bench's size.
  const xds = new XdsServer({ store, resources: new ResourceCache(), policy: new TableIdentityPolicy([]), clock: systemClock, limits: { streamsPerPrincipal: 1 << 20 } });
  let rotations = 0;
  return {
    kind: 'xds',
    method: secretDiscoveryService.StreamSecrets.path,
    register: (server) => xds.addTo(server, insecureAuthenticator),
    // A CA rotation as the store sees it: the bundle gains the new authority beside the old one, then drops the old.
    rotate: () => store.setBundle(new X509Bundle(td, ++rotations % 2 ? [a!, b!] : [a!])),
    close: () => void xds.close(),
  };
}

// ---------------------------------------------------------------- client process

interface MessageSizes {
  /** The response each stream gets on subscribing. */
  initial: number;
  /** The response each stream gets after the rotation. */
  rotated: number;
}
interface ClientReady {
  type: 'ready';
  initialBytes: number;
}
interface ClientTimes {
  type: 'times';
  times: number[];
  rotatedBytes: number;
}

/**
 * The streams, as a proxy runs them: subscribe to ROOTCA (the node on the first request only, as Envoy's
 * set_node_on_first_message_only), decode each response envelope, ACK it (echo version and nonce).
 */
function runClient(address: string, method: string, streams: number, perConnection: number): void {
  const warm = warmStreams(streams, perConnection);
  const def = { stream: { ...secretDiscoveryService.StreamSecrets, path: method } };
  const Client = grpc.makeGenericClientConstructor(def as grpc.ServiceDefinition, 'Bench');
  const clients: grpc.Client[] = [];
  const received = new Array<number>(streams).fill(0);
  const times = new Array<number>(streams).fill(0);
  let first = 0;
  let second = 0;
  let initialBytes = 0;
  let rotatedBytes = 0;
  let firstVersion: string | undefined;
  const open = (i: number): void => {
    if (i % perConnection === 0) clients.push(new Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
    const call = (clients[clients.length - 1] as unknown as { stream(): grpc.ClientDuplexStream<unknown, Buffer> }).stream();
    call.on('data', (msg: Buffer) => {
      const t = now();
      const res = fromBinary(DiscoveryResponseSchema, msg);
      call.write(create(DiscoveryRequestSchema, { typeUrl: SECRET_TYPE, resourceNames: ['ROOTCA'], responseNonce: res.nonce, versionInfo: res.versionInfo }));
      if (++received[i]! === 1) {
        initialBytes = msg.length;
        firstVersion ??= res.versionInfo;
        ++first;
        if (first === warm) process.send!({ type: 'warm' });
        if (first === streams) process.send!({ type: 'ready', initialBytes } satisfies ClientReady);
      } else if (received[i] === 2) {
        if (res.versionInfo === firstVersion) throw new Error('bench: a second response with the first version; the rotation did not reach it');
        times[i] = t;
        rotatedBytes = msg.length;
        if (++second === streams) process.send!({ type: 'times', times, rotatedBytes } satisfies ClientTimes);
      }
    });
    call.on('error', () => undefined);
    call.write(create(DiscoveryRequestSchema, { node: { id: `bench-${i}` }, typeUrl: SECRET_TYPE, resourceNames: ['ROOTCA'] }));
  };
  for (let i = 0; i < warm; i++) open(i);
  process.on('message', (m) => {
    if (m === 'more') for (let i = warm; i < streams; i++) open(i);
    if (m === 'exit') process.exit(0);
  });
}

/**
 * Streams opened first, before memory is measured: half of them. Code paths compiled and optimised, and buffers
 * sized, while streams arrive are a fixed cost, not a per-stream one; with a warm-up of a tenth, part of it still
 * fell in the measured window (the xDS server optimises more code than the bare one: about 3 MB more, seen as
 * 3.5 KB per stream at 1,000 streams and 1.3 KB at 2,000). The figure is the marginal cost of the second half.
 */
function warmStreams(streams: number, perConnection: number): number {
  return Math.min(streams, Math.max(perConnection, Math.round(streams / 2 / perConnection) * perConnection));
}

// ---------------------------------------------------------------- parent

interface Result {
  kind: string;
  streams: number;
  initialBytes: number;
  rotatedBytes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Server process CPU from the rotation to the last stream holding it (the pushes and the ACKs they draw). */
  serverCpuMs: number;
  rssPerStreamKb: number;
  heapPerStreamKb: number;
  /** V8 heap reserved (used or not) and memory outside it held by JS objects (Buffers), per stream. */
  heapTotalPerStreamKb: number;
  externalPerStreamKb: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The young generation every server process runs with (MB per semi-space): V8's default maximum, pinned. */
const SEMI_SPACE_MB = 16;

/**
 * Allocates and drops a few times the young generation's size, so every page of it has been touched (and counted
 * in RSS) before the first sample: otherwise the pages first touched during the measured burst count per stream.
 */
function touchYoungGeneration(): void {
  let keep: unknown[] = [];
  for (let i = 0; i < 4 * SEMI_SPACE_MB * 4096; i++) keep = new Array(32).fill(i);
  if (keep.length !== 32) throw new Error('unreachable');
}

/**
 * Memory once it has settled: two full GCs (what the first one's weak callbacks release, the second reclaims),
 * then samples 100 ms apart until RSS moves by less than 256 KB, because V8 returns freed pages to the system
 * from a background thread, after the collection that freed them.
 */
async function settle(): Promise<{ rss: number; heap: number; heapTotal: number; external: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  let prev = -Infinity;
  for (let i = 0; i < 30; i++) {
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    if (Math.abs(m.rss - prev) < 256 * 1024) return { rss: m.rss, heap: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
    prev = m.rss;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('bench: memory did not settle within 3 s');
}

async function measure(sut: ServerUnderTest, streams: number, perConnection: number): Promise<Result> {
  const server = new grpc.Server({ 'grpc.max_concurrent_streams': 1 << 20 });
  sut.register(server);
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  const child = fork(fileURLToPath(import.meta.url), ['client', `127.0.0.1:${port}`, sut.method, String(streams), String(perConnection)], {
    execArgv: ['--max-old-space-size=4096'],
  });
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { type: string }) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        resolve(m as T);
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`bench client exited with ${code}`)));
    });
  const warmed = next<{ type: 'warm' }>('warm');
  const readyP = next<ClientReady>('ready');
  await warmed;
  // Let the ACKs of the initial responses land before measuring memory (the warm streams', then everyone's).
  await new Promise((r) => setTimeout(r, 200));
  touchYoungGeneration();
  const before = await settle();
  if (process.env.PUSH_HEAP_SNAPSHOT) writeHeapSnapshot(`${process.env.PUSH_HEAP_SNAPSHOT}-${sut.kind}-${streams}-before.heapsnapshot`);
  child.send('more');
  const ready = await readyP;
  await new Promise((r) => setTimeout(r, 200));
  const idle = await settle();
  if (process.env.PUSH_HEAP_SNAPSHOT) writeHeapSnapshot(`${process.env.PUSH_HEAP_SNAPSHOT}-${sut.kind}-${streams}-idle.heapsnapshot`);
  const measured = Math.max(1, streams - warmStreams(streams, perConnection));
  const timesP = next<ClientTimes>('times');
  const profile = process.env.PUSH_PROFILE ? await startProfile() : undefined;
  const cpu0 = process.cpuUsage();
  const t0 = now();
  sut.rotate();
  const { times, rotatedBytes } = await timesP;
  const cpu = process.cpuUsage(cpu0);
  if (profile) await profile(`${process.env.PUSH_PROFILE}-${sut.kind}-${streams}.cpuprofile`);
  const lat = times.map((t) => t - t0).sort((a, b) => a - b);
  child.send('exit');
  sut.close();
  server.forceShutdown();
  await new Promise((r) => child.once('exit', r));
  return {
    kind: sut.kind,
    streams,
    initialBytes: ready.initialBytes,
    rotatedBytes,
    p50Ms: round(percentile(lat, 50)),
    p99Ms: round(percentile(lat, 99)),
    maxMs: round(lat[lat.length - 1]!),
    serverCpuMs: round((cpu.user + cpu.system) / 1000),
    rssPerStreamKb: round((idle.rss - before.rss) / measured / 1024),
    heapPerStreamKb: round((idle.heap - before.heap) / measured / 1024),
    heapTotalPerStreamKb: round((idle.heapTotal - before.heapTotal) / measured / 1024),
    externalPerStreamKb: round((idle.external - before.external) / measured / 1024),
  };
}

/**
 * PUSH_PROFILE=prefix: a V8 CPU profile of the server over the rotation window only (connection setup left out),
 * written to prefix-KIND-N.cpuprofile; stop(file) ends it.
 */
async function startProfile(): Promise<(file: string) => Promise<void>> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((res, rej) => session.post(method, params ?? {}, (e, r) => (e ? rej(e) : res(r))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
  return async (file) => {
    const { profile } = (await post('Profiler.stop')) as { profile: object };
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

const range = (xs: number[], digits = 0): string => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi || xs.length === 1 ? lo.toFixed(digits) : `${lo.toFixed(digits)}–${hi.toFixed(digits)}`;
};

/** --bare-decodes: the bare server decodes every request into a DiscoveryRequest (it ignores it still). */
const BARE_DECODES = process.argv.includes('--bare-decodes');

/** Connections per case are capped: one connection per stream at 10,000 streams would test the box's fd limits. */
const MAX_CONNECTIONS = 2000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const counts = arg('streams', '1000,10000').split(',').map(Number);
  const perConnections = arg('per-connection', '10,1').split(',').map(Number);
  const runs = Number(arg('runs', '1'));
  const memoryPairs = Number(arg('memory-pairs', '5'));
  if (!(globalThis as { gc?: unknown }).gc) console.error('note: run with --expose-gc for steadier memory figures');
  const results: (Result & { perConnection: number })[] = [];
  const pairs: { streams: number; perConnection: number; xds: Result; bare: Result }[] = [];
  const cases = perConnections
    .flatMap((pc) => counts.filter((n) => n / pc <= MAX_CONNECTIONS).map((n) => ({ n, pc })))
    // One stream per connection is the case the memory goal is about: it gets more pairs, for a median.
    .map((c) => ({ ...c, pairs: c.pc === 1 ? Math.max(runs, memoryPairs) : runs, sizes: undefined as MessageSizes | undefined }));
  // Pairs of all cases interleaved, so a spell of load on the shared machine spreads over cases.
  for (let run = 0; run < Math.max(...cases.map((c) => c.pairs)); run++) {
    for (const c of cases) {
      if (run >= c.pairs) continue;
      // xDS first in the first pair: the bare server then sends messages of exactly the sizes the xDS server
      // sent. After that the order alternates, so whatever the first process of a pair leaves behind on the
      // machine weighs on both servers alike.
      const xdsFirst = !c.sizes || run % 2 === 0;
      let xds: Result;
      let bare: Result;
      if (xdsFirst) {
        xds = await inFreshProcess('xds', c.n, c.pc, { initial: 0, rotated: 0 });
        bare = await inFreshProcess('bare', c.n, c.pc, { initial: xds.initialBytes, rotated: xds.rotatedBytes });
      } else {
        bare = await inFreshProcess('bare', c.n, c.pc, c.sizes!);
        xds = await inFreshProcess('xds', c.n, c.pc, { initial: 0, rotated: 0 });
      }
      c.sizes = { initial: xds.initialBytes, rotated: xds.rotatedBytes };
      results.push({ ...xds, perConnection: c.pc }, { ...bare, perConnection: c.pc });
      pairs.push({ streams: c.n, perConnection: c.pc, xds, bare });
    }
  }
  console.log('server   streams  per conn  msg B (initial→rotated)   p50 ms   p99 ms   max ms   server CPU ms   RSS KB/stream  heap KB/stream');
  for (const r of results) {
    console.log(
      [r.kind.padEnd(7), String(r.streams).padStart(7), String(r.perConnection).padStart(8), `${r.initialBytes}→${r.rotatedBytes}`.padStart(23), ...[r.p50Ms, r.p99Ms, r.maxMs].map((v) => v.toFixed(1).padStart(8)), r.serverCpuMs.toFixed(0).padStart(14), r.rssPerStreamKb.toFixed(1).padStart(14), r.heapPerStreamKb.toFixed(1).padStart(15)].join('  '),
    );
  }
  // Ratios are taken within a pair (xDS and its ceiling measured back to back), so load from elsewhere on a
  // shared machine shows up in both halves rather than in the ratio.
  console.log(`\nsummary: xDS figures (ceiling) and xDS/ceiling ratio of each pair, as ranges over the pairs`);
  console.log('streams  per conn  pairs  p50 ms xDS (bare)        p99 ms xDS (bare)        p50 ratio    p99 ratio');
  for (const { n, pc } of cases) {
    const ps = pairs.filter((p) => p.streams === n && p.perConnection === pc);
    const col = (f: (r: Result) => number, k: 'xds' | 'bare', digits = 0) => range(ps.map((p) => f(p[k])), digits);
    console.log(
      [
        String(n).padStart(7),
        String(pc).padStart(8),
        String(ps.length).padStart(5),
        `${col((r) => r.p50Ms, 'xds')} (${col((r) => r.p50Ms, 'bare')})`.padEnd(23),
        `${col((r) => r.p99Ms, 'xds')} (${col((r) => r.p99Ms, 'bare')})`.padEnd(23),
        `${range(ps.map((p) => p.xds.p50Ms / p.bare.p50Ms), 2)}x`.padEnd(11),
        `${range(ps.map((p) => p.xds.p99Ms / p.bare.p99Ms), 2)}x`,
      ].join('  '),
    );
  }
  console.log(`\nmemory per idle stream (marginal cost of the second half of the streams; young generation pinned at ${SEMI_SPACE_MB} MB semi-spaces; sampled once settled after full GCs): median over the pairs, [range]`);
  console.log('streams  per conn  pairs  RSS KB xDS (bare)   RSS ratio            JS heap KB xDS (bare)   heap ratio');
  const memory: object[] = [];
  for (const { n, pc } of cases) {
    const ps = pairs.filter((p) => p.streams === n && p.perConnection === pc);
    const med = (f: (r: Result) => number, k: 'xds' | 'bare') => median(ps.map((p) => f(p[k]))).toFixed(1);
    const ratio = (f: (r: Result) => number) => {
      const rs = ps.map((p) => f(p.xds) / f(p.bare));
      return { median: round2(median(rs)), min: round2(Math.min(...rs)), max: round2(Math.max(...rs)) };
    };
    const rss = ratio((r) => r.rssPerStreamKb);
    const heap = ratio((r) => r.heapPerStreamKb);
    const shown = (r: typeof rss) => `${r.median.toFixed(2)}x [${r.min.toFixed(2)}–${r.max.toFixed(2)}]`;
    console.log(
      [
        String(n).padStart(7),
        String(pc).padStart(8),
        String(ps.length).padStart(5),
        `${med((r) => r.rssPerStreamKb, 'xds')} (${med((r) => r.rssPerStreamKb, 'bare')})`.padEnd(18),
        shown(rss).padEnd(19),
        `${med((r) => r.heapPerStreamKb, 'xds')} (${med((r) => r.heapPerStreamKb, 'bare')})`.padEnd(22),
        shown(heap),
      ].join('  '),
    );
    memory.push({ streams: n, perConnection: pc, pairs: ps.length, rssRatio: rss, heapRatio: heap });
  }
  console.log(JSON.stringify({ bench: 'push', perConnections, runs, memoryPairs, semiSpaceMb: SEMI_SPACE_MB, bareDecodes: BARE_DECODES, memory, results }));
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Each measurement gets its own server process, so one run's heap and RSS do not hide in the next one's figures. */
function inFreshProcess(kind: 'xds' | 'bare', streams: number, perConnection: number, sizes: MessageSizes): Promise<Result> {
  const child = fork(fileURLToPath(import.meta.url), ['server', kind, String(streams), String(perConnection), String(sizes.initial), String(sizes.rotated), String(BARE_DECODES)], {
    execArgv: ['--expose-gc', '--max-old-space-size=4096', `--min-semi-space-size=${SEMI_SPACE_MB}`, `--max-semi-space-size=${SEMI_SPACE_MB}`, ...(process.env.PUSH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? [])],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (r) => resolve(r as Result));
    child.once('exit', (code) => (code ? reject(new Error(`bench server exited with ${code}`)) : undefined));
  });
}

async function runServer(kind: string, streams: number, perConnection: number, sizes: MessageSizes, decodes: boolean): Promise<void> {
  const sut = kind === 'xds' ? await xdsServer() : bareServer(sizes, decodes);
  process.send!(await measure(sut, streams, perConnection));
  process.disconnect();
}

if (process.argv[2] === 'server') {
  await runServer(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]), { initial: Number(process.argv[6]), rotated: Number(process.argv[7]) }, process.argv[8] === 'true');
} else if (process.argv[2] === 'client') {
  runClient(process.argv[3]!, process.argv[4]!, Number(process.argv[5]), Number(process.argv[6]));
} else {
  await main();
}
