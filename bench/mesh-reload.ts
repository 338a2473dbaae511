// bench/mesh-reload: the mesh stage of a reload in-process — text in, loaded mesh out (read → parse → structural
// check → model → resolve; loadMeshText) — for a full reload (every service's application port changes) and a
// one-service edit (one application port; each round differs from the text before it in one service), at 1k,
// 10k and 50k services. CPU time of this process
// (process.cpuUsage), median of several rounds, with the stage's own counters (service items read, patched,
// checked and resolved afresh). Beside it, the ceiling measured in the same run: reading and JSON-parsing the same description
// as JSON (what any reload must at least do).
//   node --expose-gc dist/bench/mesh-reload.js [--services 1000,10000,50000] [--rounds 7] [--cpu-prof-edit FILE]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector';
import { loadMeshText } from '../src/control-plane/mesh-loader.js';
import { meshCounters } from '../src/mesh/counters.js';
import { syntheticMesh } from './synthetic-mesh.js';

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

/**
 * CPU milliseconds (user + system) of fn, after a collection so earlier garbage is not billed to it. The collector
 * sweeps on its own threads after a full collection, and process.cpuUsage counts every thread: a pause lets that
 * finish first (else a few-millisecond edit was billed ~15 ms of sweeping the bench itself asked for).
 */
async function cpu(fn: () => void): Promise<number> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 250));
  const before = process.cpuUsage();
  fn();
  const d = process.cpuUsage(before);
  return (d.user + d.system) / 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Row {
  services: number;
  /** `full, b2b`: full reloads back to back, no collection forced before each (counters: those of `full`). */
  edit: 'first load' | 'full' | 'full, b2b' | 'one service';
  cpuMs: number;
  itemsRead: number;
  /** Items of which one changed value was read, the rest of the tree shared (fast-yaml.ts patchItem). */
  itemsPatched: number;
  itemsChecked: number;
  servicesResolved: number;
  ceilingMs: number;
}

async function counted(fn: () => void): Promise<{ ms: number; itemsRead: number; itemsPatched: number; itemsChecked: number; servicesResolved: number }> {
  const before = { ...meshCounters };
  const ms = await cpu(fn);
  return {
    ms,
    itemsRead: meshCounters.itemsRead - before.itemsRead,
    itemsPatched: meshCounters.itemsPatched - before.itemsPatched,
    itemsChecked: meshCounters.itemsChecked - before.itemsChecked,
    servicesResolved: meshCounters.servicesResolved - before.servicesResolved,
  };
}

/** Reading and JSON-parsing the same description as JSON: what any reload has to do at the least. */
async function ceiling(text: string, dir: string, rounds: number): Promise<number> {
  const m = loadMeshText(text, 'mesh.yaml').model;
  const file = join(dir, 'mesh.json');
  writeFileSync(file, JSON.stringify({ trustDomain: m.trustDomain.name, services: m.services }, (k, v: unknown) => (k === 'matcher' || k === 'path' ? undefined : v)));
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) times.push(await cpu(() => JSON.parse(readFileSync(file, 'utf8'))));
  return median(times);
}

async function profile(file: string, fn: () => void): Promise<void> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
  fn();
  const { profile: p } = (await post('Profiler.stop')) as { profile: unknown };
  writeFileSync(file, JSON.stringify(p));
  session.disconnect();
}

async function main(): Promise<void> {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const sizes = (arg('--services') ?? '1000,10000,50000').split(',').map(Number);
  const rounds = Number(arg('--rounds') ?? 7);
  const profFile = arg('--cpu-prof-edit');
  const dir = mkdtempSync(join(tmpdir(), 'trustplane-mesh-reload-'));
  const rows: Row[] = [];
  try {
    for (const n of sizes) {
      const base = syntheticMesh(n);
      const full = syntheticMesh(n, { appPort: 7000 });
      const edits = [syntheticMesh(n, { edited: { service: Math.floor(n / 2), appPort: 9090 } }), syntheticMesh(n, { edited: { service: Math.floor(n / 3), appPort: 9191 } })];
      // Another size before: nothing of it is reused here.
      const first = await counted(() => loadMeshText(base, 'mesh.yaml'));
      const ceil = await ceiling(base, dir, rounds);
      rows.push({ services: n, edit: 'first load', cpuMs: first.ms, ...pick(first), ceilingMs: ceil });
      const fulls: Counted[] = [];
      for (let r = 0; r < rounds; r++) fulls.push(await counted(() => loadMeshText(r % 2 === 0 ? full : base, 'mesh.yaml')));
      // The same, back to back as a server meets them: no collection forced before each, garbage of the one before
      // collected as it comes (a forced full collection leaves the young generation small, which bills the next
      // reload more scavenges than a server's reloads see).
      const natural: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const before = process.cpuUsage();
        loadMeshText((rounds + r) % 2 === 1 ? base : full, 'mesh.yaml'); // the other text than the one before
        const d = process.cpuUsage(before);
        natural.push((d.user + d.system) / 1000);
      }
      // The last full round ended on `full` or `base`; either way every service of an edit text differs from it.
      loadMeshText(base, 'mesh.yaml');
      // Each round one service differs from the text loaded before it: an edit, then the edit taken back.
      const one: Counted[] = [];
      for (let r = 0; r < rounds; r++) one.push(await counted(() => loadMeshText(r % 2 === 0 ? edits[(r >> 1) % 2]! : base, 'mesh.yaml')));
      rows.push({ services: n, edit: 'full', cpuMs: median(fulls.map((f) => f.ms)), ...pick(fulls.at(-1)!), ceilingMs: ceil });
      rows.push({ services: n, edit: 'full, b2b', cpuMs: median(natural), ...pick(fulls.at(-1)!), ceilingMs: ceil });
      rows.push({ services: n, edit: 'one service', cpuMs: median(one.map((f) => f.ms)), ...pick(one.at(-1)!), ceilingMs: ceil });
      if (profFile && n === 10000) await profile(profFile, () => loadMeshText(rounds % 2 === 0 ? edits[0]! : edits[1]!, 'mesh.yaml'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const f = (x: number, d = 0) => x.toFixed(d);
  console.log('services  edit          CPU ms  items read  items patched  items checked  services resolved  ceiling ms  ratio');
  for (const r of rows) {
    console.log(
      [
        String(r.services).padStart(8),
        r.edit.padEnd(12),
        f(r.cpuMs, 1).padStart(7),
        String(r.itemsRead).padStart(10),
        String(r.itemsPatched).padStart(13),
        String(r.itemsChecked).padStart(13),
        String(r.servicesResolved).padStart(17),
        f(r.ceilingMs, 1).padStart(10),
        `${f(r.cpuMs / r.ceilingMs, 2)}x`.padStart(6),
      ].join('  '),
    );
  }
  const load = loadavg()[0]!;
  console.log(`CPU time of this process, median of ${rounds} rounds (first load: once); load average ${load.toFixed(1)} on ${(await import('node:os')).cpus().length} cores.`);
  console.log(JSON.stringify({ bench: 'mesh-reload', node: process.version, rounds, loadAvg1m: load, rows }));
}

type Counted = Awaited<ReturnType<typeof counted>>;

function pick(c: Counted): Pick<Row, 'itemsRead' | 'itemsPatched' | 'itemsChecked' | 'servicesResolved'> {
  return { itemsRead: c.itemsRead, itemsPatched: c.itemsPatched, itemsChecked: c.itemsChecked, servicesResolved: c.servicesResolved };
}

await main();
