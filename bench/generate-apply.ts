// bench/generate --apply: the generate+cache stage of a reload in process (no control plane, no rollout, no
// sockets): MeshResources.apply of parsed descriptions into a ResourceCache. Each description is parsed just before
// its apply (outside what is measured; the parser patches the last model, as a reload does, so unchanged services
// are the same objects). Prints CPU (process.cpuUsage) and wall time per apply, medians.
// GENERATE_PROFILE=prefix writes CPU profiles of the measured applies alone (not the parsing between them):
// prefix-full.cpuprofile and prefix-edit.cpuprofile.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { MeshResources } from '../src/control-plane/resources.js';
import { parseMesh } from '../src/mesh/parse.js';
import type { MeshModel } from '../src/mesh/model.js';
import { ResourceCache } from '../src/xds/cache/resource-cache.js';
import { syntheticMesh } from './synthetic-mesh.js';

const FULL = 5;
const EDITS = 21;
const PROFILE = process.env['GENERATE_PROFILE'];

interface Timing {
  cpuMs: number;
  wallMs: number;
}

function measure(f: () => void): Timing {
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  f();
  const wallMs = performance.now() - w0;
  const d = process.cpuUsage(t0);
  return { cpuMs: (d.user + d.system) / 1000, wallMs };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = (ts: Timing[]) => ({
  cpuMs: +median(ts.map((t) => t.cpuMs)).toFixed(2),
  cpuMin: +Math.min(...ts.map((t) => t.cpuMs)).toFixed(2),
  wallMs: +median(ts.map((t) => t.wallMs)).toFixed(2),
  wallMin: +Math.min(...ts.map((t) => t.wallMs)).toFixed(2),
  wallMax: +Math.max(...ts.map((t) => t.wallMs)).toFixed(2),
});

/** The inspector's profiler around each measured apply when GENERATE_PROFILE is set (its calls answer synchronously). */
class Profiles {
  readonly #session = PROFILE ? new Session() : undefined;
  readonly #parts = new Map<string, { nodes: { id: number; children?: number[] }[]; samples: number[]; timeDeltas: number[] }[]>();
  constructor() {
    this.#session?.connect();
    this.#post('Profiler.enable');
  }
  #post(method: string): unknown {
    let out: unknown;
    this.#session?.post(method, (err, res) => {
      if (err) throw err;
      out = res;
    });
    return out;
  }
  around<T>(name: string, f: () => T): T {
    if (!this.#session) return f();
    this.#post('Profiler.start');
    const result = f();
    const { profile } = this.#post('Profiler.stop') as { profile: never };
    let parts = this.#parts.get(name);
    if (!parts) this.#parts.set(name, (parts = []));
    parts.push(profile);
    return result;
  }
  /** One file per name: its profiles side by side (node ids renumbered), so one summary covers every apply. */
  write(): void {
    for (const [name, parts] of this.#parts) {
      const out = { nodes: [] as unknown[], samples: [] as number[], timeDeltas: [] as number[], startTime: 0, endTime: 0 };
      let offset = 0;
      for (const p of parts) {
        let max = 0;
        for (const node of p.nodes) {
          max = Math.max(max, node.id);
          out.nodes.push({ ...node, id: node.id + offset, children: node.children?.map((c) => c + offset) });
        }
        out.samples.push(...p.samples.map((s) => s + offset));
        out.timeDeltas.push(...p.timeDeltas);
        offset += max + 1;
      }
      writeFileSync(`${PROFILE}-${name}.cpuprofile`, JSON.stringify(out));
    }
  }
}

export function applyBench(n: number): void {
  const profiles = new Profiles();
  const cache = new ResourceCache();
  const resources = new MeshResources(cache);
  const apply = (m: MeshModel): Timing => measure(() => resources.apply(m));
  const first = apply(parseMesh(syntheticMesh(n), 'mesh.yaml'));
  // Full reloads: every application port moves, back and forth.
  const ports = Array.from({ length: FULL }, (_, k) => (k % 2 === 0 ? 7000 : 8080));
  let regenerated = 0;
  const full = ports.map((appPort) => {
    const m = parseMesh(syntheticMesh(n, { appPort }), 'mesh.yaml');
    const t = profiles.around('full', () => apply(m));
    regenerated = resources.last.resourcesRegenerated;
    return t;
  });
  // One-service edits: service k edited, then the description as it was, and so on.
  const port = ports.at(-1)!;
  const base = syntheticMesh(n, { appPort: port });
  let editRegenerated = 0;
  const edits = Array.from({ length: EDITS * 2 }, (_, i) => {
    const m = parseMesh(i % 2 === 0 ? syntheticMesh(n, { appPort: port, edited: { service: (i * 37) % n, appPort: 9000 + i } }) : base, 'mesh.yaml');
    const t = profiles.around('edit', () => apply(m));
    editRegenerated = Math.max(editRegenerated, resources.last.servicesRegenerated);
    return t;
  });
  profiles.write();
  console.log(
    JSON.stringify({
      bench: 'generate --apply',
      services: n,
      firstApply: { cpuMs: +first.cpuMs.toFixed(1), wallMs: +first.wallMs.toFixed(1) },
      fullReload: { ...summary(full), resourcesRegenerated: regenerated },
      oneServiceEdit: { ...summary(edits), maxServicesRegenerated: editRegenerated },
      load: +loadavg()[0]!.toFixed(2),
    }),
  );
}
