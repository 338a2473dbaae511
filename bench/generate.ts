// bench/generate: Envoy resources for synthetic meshes of 100, 1,000 and 10,000 services.
//
// What is timed is what `trustplane serve` does for every service it regenerates: the bytes of its listeners and
// clusters that the xDS cache serves (buildNodeResources: the builders' init shapes written by the generic
// descriptor-driven writer, src/envoy/binary.ts, with shared sub-messages encoded once per mesh). Parsing the
// description is not timed (bench/reload measures the whole path), and a reload only regenerates the services
// whose inputs changed; this is the cost of regenerating all of them.
//
// Two references measured in the same run, on the same mesh:
// - via messages: buildServiceResources (create() of every message) + toBinary of every listener and cluster,
//   the library's own way. One run, with the per-mesh memo (memo.ts) cold, as on a reload.
// - encode-only: toBinary of those same messages, already built (not timed): the library encoder alone.
// Goal: 10,000 services in < 2 s, per-service cost flat (linear growth).
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { toBinary } from '@bufbuild/protobuf';
import { ClusterSchema, type Cluster } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { ListenerSchema, type Listener } from '#gen/envoy/config/listener/v3/listener_pb';
import { parseMesh } from '../src/mesh/parse.js';
import type { MeshModel } from '../src/mesh/model.js';
import { buildNodeResources, buildServiceResources, type NodeResource } from '../src/envoy/resources.js';
import { syntheticMesh } from './synthetic-mesh.js';

const SIZES = [100, 1_000, 10_000];
const REPEATS = 3;
const GOAL_MS_10K = 2000;
function generate(mesh: MeshModel): NodeResource[][] {
  return mesh.services.map((s) => buildNodeResources(mesh, s));
}

/** The old way: messages first, then toBinary of each. */
function viaMessages(mesh: MeshModel): number {
  let bytes = 0;
  for (const s of mesh.services) {
    const { listeners, clusters } = buildServiceResources(mesh, s);
    for (const l of listeners) bytes += toBinary(ListenerSchema, l).length;
    for (const c of clusters) bytes += toBinary(ClusterSchema, c).length;
  }
  return bytes;
}

function encodeAgain(all: NodeResource[][]): number {
  let bytes = 0;
  for (const rs of all) {
    for (const r of rs) {
      bytes += (r.typeUrl.endsWith('Listener') ? toBinary(ListenerSchema, r.message as Listener) : toBinary(ClusterSchema, r.message as Cluster)).length;
    }
  }
  return bytes;
}

function timed(fn: () => void): number {
  (globalThis as { gc?: () => void }).gc?.();
  const t = performance.now();
  fn();
  return performance.now() - t;
}

function best(fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < REPEATS; i++) min = Math.min(min, timed(fn));
  return min;
}

interface Row {
  services: number;
  resources: number;
  bytes: number;
  generateMs: number;
  viaMessagesMs: number;
  encodeOnlyMs: number;
  usPerService: number;
  ratio: number;
}

// --apply: what a reload's generate+cache stage costs in process, MeshResources.apply into a ResourceCache, at
// 10,000 services (or the size given): a full reload (every service's application port changes: 80,000 resources
// rebuilt) and a one-service edit, CPU (process.cpuUsage) and wall time, medians of several.
if (process.argv.includes('--apply')) {
  const { applyBench } = await import('./generate-apply.js');
  applyBench(Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 10_000));
  process.exit(0);
}

const rows: Row[] = [];
// Warm-up, so the 100-service row measures the generator and not the JIT (50 services were too few for that):
// both paths, twice, on a mesh of 1,000, and the SDS config caches.
const warm = parseMesh(syntheticMesh(1_000), 'bench-warm.yaml');
for (let i = 0; i < 2; i++) encodeAgain(generate(warm).map((rs) => rs.map((r) => (r.message, r))));
for (const n of SIZES) {
  const mesh = parseMesh(syntheticMesh(n), `bench-${n}.yaml`);
  let out: NodeResource[][] = [];
  const generateMs = best(() => (out = generate(mesh)));
  const viaMessagesMs = timed(() => viaMessages(mesh));
  for (const rs of out) for (const r of rs) void r.message; // build them, untimed
  const encodeOnlyMs = best(() => encodeAgain(out));
  const resources = out.reduce((a, rs) => a + rs.length, 0);
  const bytes = out.reduce((a, rs) => a + rs.reduce((b, r) => b + r.bytes.length, 0), 0);
  rows.push({ services: n, resources, bytes, generateMs, viaMessagesMs, encodeOnlyMs, usPerService: (generateMs * 1000) / n, ratio: generateMs / encodeOnlyMs });
}

const f = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log('services  resources       bytes  generate ms  µs/service  via messages ms (ref)  encode-only ms (ref)  ratio to encode-only');
for (const r of rows) {
  console.log(
    `${f(r.services).padStart(8)}  ${f(r.resources).padStart(9)}  ${f(r.bytes).padStart(10)}  ${f(r.generateMs, 1).padStart(11)}  ${f(r.usPerService, 1).padStart(10)}  ${f(r.viaMessagesMs, 1).padStart(21)}  ${f(r.encodeOnlyMs, 1).padStart(20)}  ${f(r.ratio, 2).padStart(20)}`,
  );
}
const last = rows.at(-1)!;
const first = rows[0]!;
console.log(
  `goal: 10,000 services < ${f(GOAL_MS_10K)} ms: ${last.generateMs < GOAL_MS_10K ? 'met' : 'NOT met'} (${f(last.generateMs)} ms); ` +
    `per-service cost 10,000 vs 100: ${f(last.usPerService / first.usPerService, 2)}x (1.0 = linear)`,
);
// Other processes on a 2-core box inflate every figure; the load average says how busy it was.
const load = loadavg()[0]!;
console.log(`load average (1 min) at the end of the run: ${f(load, 2)}`);
console.log(JSON.stringify({ bench: 'generate', node: process.version, repeats: REPEATS, goalMs10k: GOAL_MS_10K, loadAvg1m: load, rows }));
