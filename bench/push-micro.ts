// The server side of a rotation push without the network: N SotW SDS streams on in-memory calls (write() takes
// the bytes and completes on the next macrotask, as a socket write would), one CA rotation, every stream ACKs its
// response the way a proxy does. Measures the xDS logic alone (CPU per rotation and per stream), beside a loop
// that writes one pre-built message to the same fake calls: what bench/push cannot separate from gRPC and the
// client process.
//   node --expose-gc dist/bench/push-micro.js [--streams 10000] [--rotations 10]
import { EventEmitter } from 'node:events';
import { create, fromBinary } from '@bufbuild/protobuf';
import type * as grpc from '@grpc/grpc-js';
import { DiscoveryRequestSchema, DiscoveryResponseSchema, type DiscoveryRequest } from '#gen/envoy/service/discovery/v3/discovery_pb';
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

/** Enough of a grpc.ServerDuplexStream for the xDS streams: data in, writes out, completion a macrotask later. */
class FakeCall extends EventEmitter {
  last: Uint8Array | undefined;
  writes = 0;
  onWrite: ((bytes: Uint8Array) => void) | undefined;
  write(bytes: Uint8Array, cb?: () => void): boolean {
    this.last = bytes;
    this.writes++;
    setImmediate(() => {
      cb?.();
      this.onWrite?.(bytes);
    });
    return true;
  }
  end(): void {}
  getPeer(): string {
    return 'fake';
  }
  getPath(): string {
    return '/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets';
  }
}


function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

const streams = Number(arg('streams', '10000'));
const rotations = Number(arg('rotations', '10'));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

const td = TrustDomain.parse(TD);
const store = new IdentityStore(TD);
const [a, b] = await Promise.all([caCert('a'), caCert('b')]);
store.setBundle(new X509Bundle(td, [a!]));
// Every stream is the one insecure principal: its stream limit is raised to the bench's size.
const xds = new XdsServer({ store, resources: new ResourceCache(), policy: new TableIdentityPolicy([]), clock: systemClock, limits: { streamsPerPrincipal: 1 << 20 } });

// Capture the StreamSecrets handler that addTo registers, and open the streams on fake calls.
let handler: ((call: FakeCall) => void) | undefined;
const fakeServer = {
  addService(_def: unknown, impl: Record<string, unknown>) {
    if (impl['StreamSecrets']) handler = impl['StreamSecrets'] as (call: FakeCall) => void;
  },
};
xds.addTo(fakeServer as unknown as grpc.Server, insecureAuthenticator);

let pending = 0;
let allDone: (() => void) | undefined;
const calls: FakeCall[] = [];
for (let i = 0; i < streams; i++) {
  const call = new FakeCall();
  calls.push(call);
  handler!(call);
  call.onWrite = (bytes) => {
    // The proxy's part: decode the envelope, ACK it. Kept in the loop because the server must handle the ACK.
    const res = fromBinary(DiscoveryResponseSchema, bytes);
    const ack: DiscoveryRequest = create(DiscoveryRequestSchema, { typeUrl: SECRET_TYPE, resourceNames: ['ROOTCA'], responseNonce: res.nonce, versionInfo: res.versionInfo });
    call.emit('data', ack);
    if (--pending === 0) allDone?.();
  };
  pending++;
  call.emit('data', create(DiscoveryRequestSchema, { node: { id: `bench-${i}` }, typeUrl: SECRET_TYPE, resourceNames: ['ROOTCA'] }));
}
await new Promise<void>((r) => (pending === 0 ? r() : (allDone = r)));

// The client-side decode+ACK is the same for both loops below, so the difference is the server's own work.
async function rotateOnce(rotate: () => void): Promise<{ wallMs: number; cpuMs: number }> {
  gc();
  pending = streams;
  const done = new Promise<void>((r) => (allDone = r));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  rotate();
  await done;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
}

let n = 0;
const xdsRuns: { wallMs: number; cpuMs: number }[] = [];
for (let i = 0; i < rotations; i++) xdsRuns.push(await rotateOnce(() => store.setBundle(new X509Bundle(td, ++n % 2 ? [a!, b!] : [a!]))));
// Floor: the same fake calls, the last message each got, written again from one pre-built buffer.
const message = calls[0]!.last!;
const bareRuns: { wallMs: number; cpuMs: number }[] = [];
for (let i = 0; i < rotations; i++) bareRuns.push(await rotateOnce(() => { for (const c of calls) c.write(message); }));

const med = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
const line = (kind: string, runs: { wallMs: number; cpuMs: number }[]) =>
  `${kind.padEnd(6)} ${streams} streams: median ${med(runs.map((r) => r.wallMs)).toFixed(1)} ms wall, ${med(runs.map((r) => r.cpuMs)).toFixed(1)} ms CPU per rotation; ${((1000 * med(runs.map((r) => r.cpuMs))) / streams).toFixed(2)} µs CPU per stream`;
console.log(line('xds', xdsRuns));
console.log(line('floor', bareRuns));
const x = med(xdsRuns.map((r) => r.cpuMs));
const f = med(bareRuns.map((r) => r.cpuMs));
console.log(`xDS logic per stream per rotation (incl. handling its ACK): ${((1000 * (x - f)) / streams).toFixed(2)} µs`);
// What a status reader pays (the /status endpoint, CSDS, the rollout controller after ACKs): one full snapshot.
const s0 = performance.now();
const snap = xds.status();
console.log(`status snapshot of ${snap.proxies.length} streams: ${(performance.now() - s0).toFixed(1)} ms`);
await xds.close();
