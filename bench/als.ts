// bench/als: access-log entries ingested per second through a real gRPC stream (client in its own thread, Unix
// socket, the receiver and evidence of `trustplane serve`), beside a ceiling measured in the same run: decoding
// the same bytes alone with the receiver's reader (src/traffic/entry-reader.ts), which the receiver cannot do
// without; a full fromBinary of the same bytes is printed for reference. Then the memory of the
// evidence window for 1,000 service ports with the per-port source bound reached in every bucket.
//   node --expose-gc dist/bench/als.js [--entries 200000] [--batch 100]
// Goal: >= 50,000 entries/s and >= 50% of the ceiling.
import * as grpc from '@grpc/grpc-js';
import { fromBinary } from '@bufbuild/protobuf';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { StreamAccessLogsMessageSchema } from '#gen/envoy/service/accesslog/v3/als_pb';
import { systemClock } from '../src/clock.js';
import { silentLogger } from '../src/observe/log.js';
import { BUCKETS, TrafficEvidence } from '../src/traffic/evidence.js';
import { readAccessLogMessage } from '../src/traffic/entry-reader.js';
import { Traffic } from '../src/traffic/traffic.js';
import { parseMesh } from '../src/mesh/parse.js';
import { bindUnixSocket } from '../src/xds/transport/unix-socket.js';
import { fixedAuthenticator } from '../src/xds/transport/fixed-authenticator.js';
import { XDS_SERVER_OPTIONS } from '../src/xds/transport/grpc-bind.js';
import { identifierMessage, tcpBatch, type Conn } from '../test/traffic/als-client.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const ENTRIES = arg('entries', 200_000);
const BATCH = arg('batch', 100);
const SERVICES = 100;
const GOAL = 50_000;

function meshText(): string {
  const lines = ['trustDomain: bench.example.org', 'services:'];
  for (let i = 0; i < SERVICES; i++) {
    lines.push(`  - name: s${i}`, `    spiffeId: spiffe://bench.example.org/ns/n/sa/s${i}`, `    nodes: [uid:1000]`, `    inbound:`, `      - { port: 15006, appPort: 8080 }`);
  }
  return lines.join('\n') + '\n';
}

/** A mix like a mesh half-way through its migration: 70% mTLS from 10 callers, 25% plaintext from 50 addresses, 5% handshake failures. */
function conn(i: number): Conn {
  const service = `s${i % SERVICES}`;
  const r = i % 20;
  if (r < 14) return { service, port: 15006, chain: 'mtls', from: `10.0.${i % 7}.${i % 200}`, spiffeId: `spiffe://bench.example.org/ns/n/sa/s${i % 10}` };
  if (r < 19) return { service, port: 15006, chain: 'plaintext', from: `192.168.${i % 5}.${i % 50}` };
  return { service, port: 15006, chain: 'mtls', from: `10.9.0.${i % 250}`, handshakeFailure: true };
}

function messages(): Uint8Array[] {
  const out = [identifierMessage('bench-node', 's0')];
  for (let i = 0; i < ENTRIES; i += BATCH) out.push(tcpBatch(Array.from({ length: Math.min(BATCH, ENTRIES - i) }, (_, k) => conn(i + k))));
  return out;
}

function ceiling(msgs: readonly Uint8Array[]): number {
  let entries = 0;
  const start = performance.now();
  for (const m of msgs) entries += readAccessLogMessage(m).entries.length;
  return entries / ((performance.now() - start) / 1000);
}

function fullDecode(msgs: readonly Uint8Array[]): number {
  let entries = 0;
  const start = performance.now();
  for (const m of msgs) {
    const d = fromBinary(StreamAccessLogsMessageSchema, m);
    if (d.logEntries.case) entries += d.logEntries.value.logEntry.length;
  }
  return entries / ((performance.now() - start) / 1000);
}

async function ingest(msgs: Uint8Array[], streams: number): Promise<{ rate: number; counted: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-als-'));
  const mesh = parseMesh(meshText(), 'bench.yaml');
  const traffic = new Traffic({ clock: systemClock, logger: silentLogger, mayReport: () => true, limits: { maxStreamsPerPrincipal: 4, maxEntriesPerSecond: Infinity } });
  traffic.setMesh(mesh);
  const server = new grpc.Server(XDS_SERVER_OPTIONS);
  traffic.receiver.addTo(server, fixedAuthenticator({ kind: 'uid', uid: 1000 }));
  const socket = join(dir, 'als.sock');
  const bound = await bindUnixSocket(server, { path: socket, mode: 0o600, dirMode: 0o700, ownDirectory: false });
  try {
    const elu0 = performance.eventLoopUtilization();
    const result = await new Promise<{ ms: number; elu: number; error?: string }>((ok, fail) => {
      const w = new Worker(new URL('./als-worker.js', import.meta.url), { workerData: { socket, identifier: msgs[0], batches: msgs.slice(1), streams } });
      w.once('message', ok);
      w.once('error', fail);
    });
    if (process.env['ALS_ELU']) console.log(`  event loop utilization during ingest: server ${performance.eventLoopUtilization(elu0).utilization.toFixed(2)}, client ${result.elu.toFixed(2)}`);
    if (result.error) throw new Error(`stream failed: ${result.error}`);
    const counted = traffic.evidence.ports().reduce((n, p) => n + p.totals.mtls + p.totals.plaintext + p.totals.handshakeFailures + p.totals.rbacDenied, 0);
    return { rate: counted / (result.ms / 1000), counted };
  } finally {
    traffic.close();
    await new Promise<void>((ok) => server.tryShutdown(() => ok()));
    await bound.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

function heapMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

function windowMemory(ports: number): { mb: number; perPortKb: number; sources: number } {
  const before = heapMb();
  let now = Date.UTC(2026, 0, 1);
  const clock = { now: () => now, setTimer: () => ({ cancel() {} }) };
  const ev = new TrafficEvidence({ clock });
  ev.setPorts(Array.from({ length: ports }, (_, i) => ({ service: `s${i}`, port: 15006, evidenceAvailable: true })));
  const bound = ev.maxSourcesPerPort;
  // Every bucket of the window: each port sees bound named sources (and more, which go to "other") of each kind.
  for (let b = 0; b <= BUCKETS; b++) {
    for (let p = 0; p < ports; p++) {
      for (let s = 0; s < bound + 4; s++) {
        ev.record(`s${p}`, 15006, 'mtls', `spiffe://bench.example.org/ns/n/sa/caller-${s}`);
        ev.record(`s${p}`, 15006, 'plaintext', `192.168.${s % 250}.${p % 250}`);
      }
    }
    now += ev.bucketMs;
  }
  now -= ev.bucketMs;
  const e = ev.port('s0', 15006)!;
  const sources = e.mtlsCallers.length + e.plaintextSources.length;
  const mb = heapMb() - before;
  if (!ev.port('s1', 15006)) throw new Error('unreachable');
  return { mb, perPortKb: (mb * 1024) / ports, sources };
}

const msgs = messages();
const bytes = msgs.reduce((n, m) => n + m.length, 0);
console.log(`conditions: best of 3 interleaved rounds (ceiling: best of 9); ${ENTRIES} TCP entries in batches of ${BATCH} (${(bytes / ENTRIES).toFixed(0)} bytes/entry on the wire), ${SERVICES} ports, client in a worker thread over a Unix socket, the per-principal rate limit lifted; load ${loadavg()[0]!.toFixed(2)}`);
// Best of ROUNDS, interleaved, so that load on the box and JIT warm-up fall on both sides alike. One stream is what
// the goal names; four streams on four connections (one Envoy's worker threads) show the receiver when one
// stream's HTTP/2 flow control (grpc-js reads a stream one message at a time, with 64 KiB windows) is not the limit.
const ROUNDS = 3;
const STREAMS = [1, 4];
let ceil = 0;
let full = 0;
const rate = new Map<number, number>(STREAMS.map((n) => [n, 0]));
for (let round = 0; round < ROUNDS; round++) {
  // The ceiling gets more tries than the ingest (best of 9 against best of 3): a preempted try only lowers it.
  for (let k = 0; k < 3; k++) ceil = Math.max(ceil, ceiling(msgs));
  full = Math.max(full, fullDecode(msgs));
  for (const n of STREAMS) {
    const r = await ingest(msgs, n);
    if (r.counted !== ENTRIES) throw new Error(`counted ${r.counted} of ${ENTRIES} entries`);
    rate.set(n, Math.max(rate.get(n)!, r.rate));
  }
}
console.log(`ceiling:   ${Math.round(ceil).toLocaleString('en-US')} entries/s reading the same bytes alone (entry-reader)`);
console.log(`reference: ${Math.round(full).toLocaleString('en-US')} entries/s for a full fromBinary of the same bytes (@bufbuild/protobuf)`);
for (const n of STREAMS) {
  const r = rate.get(n)!;
  const ratio = r / ceil;
  console.log(`ingest, ${n} stream${n === 1 ? ' ' : 's'}: ${Math.round(r).toLocaleString('en-US')} entries/s through gRPC (goal >= ${GOAL.toLocaleString('en-US')}: ${r >= GOAL ? 'met' : 'MISSED'}); ${ratio.toFixed(2)} of the ceiling (goal >= 0.50: ${ratio >= 0.5 ? 'met' : 'MISSED'})`);
}
const mem = windowMemory(1000);
console.log(`window memory, 1,000 ports, ${BUCKETS + 1} buckets, source bound reached (${mem.sources} sources listed per port incl. "other"): ${mem.mb.toFixed(1)} MB heap (${mem.perPortKb.toFixed(1)} KB per port)`);
