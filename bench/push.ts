// Push fan-out: N concurrent SDS streams (clients in another process, over loopback TCP), the time from one CA
// rotation to every stream holding the new bundle (p50, p99), and server memory per idle stream — beside the
// ceiling measured in the same run: the same fan-out of a same-size message through a bare @grpc/grpc-js server.
//   node --expose-gc dist/bench/push.js [--streams 1000,10000] [--per-connection 10]
// One file plays both roles: the parent runs the servers, `push.js client ...` (forked) runs the streams.
import * as grpc from '@grpc/grpc-js';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { create, fromBinary } from '@bufbuild/protobuf';
import { DiscoveryRequestSchema, DiscoveryResponseSchema } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { secretDiscoveryService } from '../src/xds/services.js';
import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '../src/spiffe/x509-lib.js';
import { systemClock } from '../src/clock.js';
import { X509Bundle } from '../src/spiffe/bundle.js';
import { TrustDomain } from '../src/spiffe/trust-domain.js';
import { IdentityStore } from '../src/store/identity-store.js';
import { TableIdentityPolicy } from '../src/xds/policy.js';
import { ResourceCache } from '../src/xds/resource-cache.js';
import { XdsServer } from '../src/xds/server.js';
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

/** The ceiling: no protocol, no state but the list of open calls; one pre-built message written to each. */
function bareServer(messageBytes: number): ServerUnderTest {
  const calls = new Set<grpc.ServerDuplexStream<Buffer, Buffer>>();
  let message = Buffer.alloc(messageBytes, 1);
  const path = '/trustplane.bench.Fanout/Stream';
  return {
    kind: 'bare',
    method: path,
    register(server) {
      const def = {
        stream: { path, requestStream: true, responseStream: true, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
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
      message = Buffer.alloc(messageBytes, message[0]! + 1);
      for (const c of calls) c.write(message);
    },
    close() {
      calls.clear();
    },
  };
}

/** A self-signed CA certificate: the bundle content that a rotation replaces. */
async function caCert(name: string): Promise<X509Certificate> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `O=trustplane bench, CN=${name}`,
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${TD}` }]),
    ],
  });
  return new X509Certificate(Buffer.from(cert.rawData));
}

const TD = 'bench.example';

/** The real xDS server, serving ROOTCA from the identity store; a rotation replaces the bundle in the store. */
async function xdsServer(): Promise<ServerUnderTest> {
  const td = TrustDomain.parse(TD);
  const store = new IdentityStore(TD);
  const [a, b] = await Promise.all([caCert('a'), caCert('b')]);
  store.setBundle(new X509Bundle(td, [a!]));
  const xds = new XdsServer({ store, resources: new ResourceCache(), policy: new TableIdentityPolicy([]), clock: systemClock });
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

interface ClientReady {
  type: 'ready';
  messageBytes: number;
}
interface ClientTimes {
  type: 'times';
  times: number[];
}

function runClient(address: string, method: string, streams: number, perConnection: number): void {
  const sds = method === secretDiscoveryService.StreamSecrets.path;
  const def = sds
    ? { stream: secretDiscoveryService.StreamSecrets }
    : { stream: { path: method, requestStream: true, responseStream: true, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize } };
  const Client = grpc.makeGenericClientConstructor(def as grpc.ServiceDefinition, 'Bench');
  const clients: grpc.Client[] = [];
  const received = new Array<number>(streams).fill(0);
  const times = new Array<number>(streams).fill(0);
  let first = 0;
  let second = 0;
  let messageBytes = 0;
  const request = (i: number, nonce = '', version = '') =>
    sds
      ? create(DiscoveryRequestSchema, { node: { id: `bench-${i}` }, typeUrl: SECRET_TYPE, resourceNames: ['ROOTCA'], responseNonce: nonce, versionInfo: version })
      : Buffer.alloc(1);
  for (let i = 0; i < streams; i++) {
    if (i % perConnection === 0) clients.push(new Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
    const call = (clients[clients.length - 1] as unknown as { stream(): grpc.ClientDuplexStream<unknown, Buffer> }).stream();
    call.on('data', (msg: Buffer) => {
      const t = now();
      if (sds) {
        const res = fromBinary(DiscoveryResponseSchema, msg);
        call.write(request(i, res.nonce, res.versionInfo)); // ACK
      }
      if (++received[i]! === 1) {
        messageBytes = msg.length;
        if (++first === streams) process.send!({ type: 'ready', messageBytes } satisfies ClientReady);
      } else if (received[i] === 2) {
        times[i] = t;
        if (++second === streams) process.send!({ type: 'times', times } satisfies ClientTimes);
      }
    });
    call.on('error', () => undefined);
    call.write(request(i));
  }
  process.on('message', (m) => {
    if (m === 'exit') process.exit(0);
  });
}

// ---------------------------------------------------------------- parent

interface Result {
  kind: string;
  streams: number;
  messageBytes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  rssPerStreamKb: number;
  heapPerStreamKb: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function settle(): { rss: number; heap: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

async function measure(sut: ServerUnderTest, streams: number, perConnection: number): Promise<Result> {
  const server = new grpc.Server({ 'grpc.max_concurrent_streams': 1 << 20 });
  sut.register(server);
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  const before = settle();
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
  const ready = await next<ClientReady>('ready');
  const idle = settle();
  const timesP = next<ClientTimes>('times');
  const t0 = now();
  sut.rotate();
  const { times } = await timesP;
  const lat = times.map((t) => t - t0).sort((a, b) => a - b);
  child.send('exit');
  sut.close();
  server.forceShutdown();
  await new Promise((r) => child.once('exit', r));
  return {
    kind: sut.kind,
    streams,
    messageBytes: ready.messageBytes,
    p50Ms: round(percentile(lat, 50)),
    p99Ms: round(percentile(lat, 99)),
    maxMs: round(lat[lat.length - 1]!),
    rssPerStreamKb: round((idle.rss - before.rss) / streams / 1024),
    heapPerStreamKb: round((idle.heap - before.heap) / streams / 1024),
  };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const counts = arg('streams', '1000,10000').split(',').map(Number);
  const perConnection = Number(arg('per-connection', '10'));
  if (!(globalThis as { gc?: unknown }).gc) console.error('note: run with --expose-gc for steadier memory figures');
  const results: Result[] = [];
  for (const n of counts) {
    const xds = await inFreshProcess('xds', n, perConnection, 0);
    results.push(xds, await inFreshProcess('bare', n, perConnection, xds.messageBytes));
  }
  console.log('server   streams  msg B   p50 ms   p99 ms   max ms   RSS KB/stream  heap KB/stream');
  for (const r of results) {
    console.log(
      [r.kind.padEnd(7), String(r.streams).padStart(7), String(r.messageBytes).padStart(6), ...[r.p50Ms, r.p99Ms, r.maxMs].map((v) => v.toFixed(1).padStart(8)), r.rssPerStreamKb.toFixed(1).padStart(14), r.heapPerStreamKb.toFixed(1).padStart(15)].join('  '),
    );
  }
  console.log(JSON.stringify({ bench: 'push', perConnection, results }));
}

/** Each measurement gets its own server process, so one run's heap and RSS do not hide in the next one's figures. */
function inFreshProcess(kind: 'xds' | 'bare', streams: number, perConnection: number, messageBytes: number): Promise<Result> {
  const child = fork(fileURLToPath(import.meta.url), ['server', kind, String(streams), String(perConnection), String(messageBytes)], {
    execArgv: ['--expose-gc', '--max-old-space-size=4096'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (r) => resolve(r as Result));
    child.once('exit', (code) => (code ? reject(new Error(`bench server exited with ${code}`)) : undefined));
  });
}

async function runServer(kind: string, streams: number, perConnection: number, messageBytes: number): Promise<void> {
  const sut = kind === 'xds' ? await xdsServer() : bareServer(messageBytes);
  process.send!(await measure(sut, streams, perConnection));
  process.disconnect();
}

if (process.argv[2] === 'server') {
  await runServer(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6]));
} else if (process.argv[2] === 'client') {
  runClient(process.argv[3]!, process.argv[4]!, Number(process.argv[5]), Number(process.argv[6]));
} else {
  await main();
}
