// The rollout's share of a one-service edit, in process (no control plane, no sockets): the STRICT gate's
// prepare/commit and the rollout controller's setDesired for a description of n services, with `streams` fake
// ADS proxies fed to the controller. Prints CPU per step (process.cpuUsage) beside a ceiling measured in the
// same run: one pass over the services with a lookup by name each (what any reload must at least do), and the full
// first setDesired. The controller asks who may hold each service as the control plane does (isProxyOf over the
// identity policy); with --told it is told when that policy changes (toldOfPolicyChanges: an application-port
// edit changes no identity, so it is never told) instead of asking every stream again on every reload.
// Usage: node dist/bench/rollout-edit.js [services] [streams] [--no-cache] [--told]
import { ManualClock } from '../src/clock.js';
import { MeshIdentityPolicy, parsePrincipalString } from '../src/control-plane/identity-policy.js';
import { MeshResources } from '../src/control-plane/resources.js';
import { parseMesh } from '../src/mesh/parse.js';
import type { MeshModel } from '../src/mesh/model.js';
import { silentLogger } from '../src/observe/log.js';
import { RolloutController } from '../src/rollout/controller.js';
import type { ProxyEvent, ProxyFeed, TrackedProxy } from '../src/rollout/progress.js';
import { Traffic } from '../src/traffic/traffic.js';
import { ResourceCache } from '../src/xds/cache/resource-cache.js';
import { syntheticMesh } from './synthetic-mesh.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const N = Number(args[0] ?? 10_000);
const STREAMS = Number(args[1] ?? 1000);
const withCache = !process.argv.includes('--no-cache');
const told = process.argv.includes('--told');
const EDITS = 20;

const cpu = (f: () => void): number => {
  const t0 = process.cpuUsage();
  f();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
};

// Proxies that ACK nothing (the resource() answer is fixed): the controller's bookkeeping is what is measured.
const proxies: TrackedProxy[] = Array.from({ length: STREAMS }, (_, i) => ({
  streamId: String(i),
  nodeId: `n${i}`,
  cluster: `s${(i * 7) % N}`,
  principal: `uid:${10000 + ((i * 7) % N)}`,
  service: 'ads',
  resource: () => undefined,
}));
const feed: ProxyFeed = { proxies: () => proxies, onStatusChange: (_l: (e: ProxyEvent) => void) => () => {} };

/** CPU spent inside onEffectiveChange (the generator and the cache: not the rollout's). */
let generatorCpu = 0;
const clock = new ManualClock();
const traffic = new Traffic({ clock, logger: silentLogger, mayReport: () => true });
const cache = new ResourceCache();
const resources = new MeshResources(cache);
const base = syntheticMesh(N);
const m0 = parseMesh(base, 'mesh.yaml');
// The description in force when the controller starts (the control plane loads it first).
let inForce: MeshModel = m0;
const policy = new MeshIdentityPolicy(() => inForce);
const rollout = new RolloutController({
  status: () => ({ generatedAt: '', proxies: [] }),
  feed,
  toldOfPolicyChanges: told,
  // As the control plane asks it (control-plane.ts), over the description in force.
  isProxyOf: (proxy, service) => {
    const principal = parsePrincipalString(proxy.principal);
    return principal !== undefined && policy.mayReadGroup(principal, service);
  },
  resources: cache,
  onEffectiveChange: (m) => {
    if (withCache) generatorCpu += cpu(() => resources.apply(m));
  },
});

// Each reload changes one service: an edit of service k, then back to the base description, and so on. Parsed
// in turn (the parser reuses what did not change, so unchanged services are the same objects), outside the
// measured CPU.
const text = (k: number): string => (k % 2 === 1 ? syntheticMesh(N, { edited: { service: (k * 37) % N, appPort: 9000 + k } }) : base);

const reload = (m: MeshModel): void => {
  const gated = traffic.prepare(m);
  rollout.setDesired(gated.model);
  gated.commit();
  // The control plane swaps the policy in after the rollout took the description (the edits here change no
  // identity: a told controller is not told).
  inForce = m;
};

const first = cpu(() => reload(m0));
const scan =
  cpu(() => {
    let n = 0;
    for (let k = 0; k < 100; k++) for (const s of m0.services) if (s === m0.serviceByName(s.name)) n++;
    if (n < 0) console.log(n);
  }) / 100;
// Some evidence, so that the gate has something to read: mTLS on every tenth port.
for (let i = 0; i < N; i += 10) traffic.evidence.record(`s${i}`, 15006, 'mtls', 'spiffe://x/caller');
const edits: number[] = [];
const generator: number[] = [];
const before = rollout.stats();
for (let k = 1; k <= EDITS; k++) {
  const m = parseMesh(text(k), 'mesh.yaml');
  generatorCpu = 0;
  // The rollout's share: gate and controller, without the generator's.
  edits.push(cpu(() => reload(m)) - generatorCpu);
  generator.push(generatorCpu);
}
const after = rollout.stats();
// A full reload: every service changed (every application port), in place.
const all = parseMesh(syntheticMesh(N, { appPort: 7000 }), 'mesh.yaml');
generatorCpu = 0;
const full = cpu(() => reload(all)) - generatorCpu;
const fullGenerator = generatorCpu;
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const median = med(edits);
edits.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    services: N,
    streams: STREAMS,
    toldOfPolicyChanges: told,
    generator: withCache ? 'MeshResources into a ResourceCache' : 'none',
    firstReloadCpuMs: +first.toFixed(1),
    rolloutEditCpuMs: { median: +median.toFixed(2), min: +edits[0]!.toFixed(2), max: +edits.at(-1)!.toFixed(2) },
    generatorEditCpuMs: { median: +med(generator).toFixed(2) },
    rolloutFullReloadCpuMs: +full.toFixed(1),
    generatorFullReloadCpuMs: +fullGenerator.toFixed(1),
    ceilingIdentityScanMs: +scan.toFixed(3),
    perEdit: Object.fromEntries(Object.entries(after).map(([k, v]) => [k, (v - before[k as keyof typeof before]) / EDITS])),
    load: (await import('node:os')).loadavg()[0]!.toFixed(1),
  }),
);
