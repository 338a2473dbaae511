// Incremental equals fresh, under random histories: descriptions edited at random (modes, ports, dependencies,
// services added, removed and moved), proxies that ACK or hold back at random, evidence arriving and time passing
// so that the STRICT gate holds and releases ports. After every change the incremental controller and gate must
// answer exactly what the pure, whole-mesh functions answer for the same inputs: planRollout, effectiveModel, a
// gate that decides every port afresh, and a controller that looks every version up after every push.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { MeshResources } from '../../src/control-plane/resources.js';
import { parseMesh } from '../../src/mesh/parse.js';
import type { MeshModel } from '../../src/mesh/model.js';
import { silentLogger } from '../../src/observe/log.js';
import { RolloutController, type ResourceVersions } from '../../src/rollout/controller.js';
import { effectiveModel } from '../../src/rollout/effective.js';
import { planRollout } from '../../src/rollout/plan.js';
import type { ProxyEvent, ProxyFeed, TrackedProxy } from '../../src/rollout/progress.js';
import { StrictGate } from '../../src/traffic/gate.js';
import type { TrafficEvidenceView } from '../../src/traffic/evidence-view.js';
import { Traffic, knownPorts } from '../../src/traffic/traffic.js';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { prng } from '../prng.js';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from '../../src/envoy/type-urls.js';


const MODES = ['STRICT', 'PERMISSIVE', 'DISABLE'] as const;

interface Svc {
  name: string;
  mode: (typeof MODES)[number];
  portMode?: (typeof MODES)[number];
  force: boolean;
  appPort: number;
  calls: string[];
}

function text(services: readonly Svc[], accessLogs: boolean): string {
  const lines = ['trustDomain: example.org', ...(accessLogs ? [] : ['accessLogs: false']), 'services:'];
  for (const s of services) {
    lines.push(`  - name: ${s.name}`, `    spiffeId: spiffe://example.org/${s.name}`, `    nodes: [uid:${1000 + Number(s.name.slice(1))}]`, `    mode: ${s.mode}`);
    lines.push('    inbound:', `      - { port: 15006, appPort: ${s.appPort}${s.portMode ? `, mode: ${s.portMode}` : ''}${s.force ? ', force: true' : ''} }`);
    const calls = s.calls.filter((c) => services.some((o) => o.name === c));
    if (calls.length) {
      lines.push('    outbound:');
      calls.forEach((c, i) => lines.push(`      - { service: ${c}, listenPort: ${15100 + i} }`));
    }
  }
  return lines.join('\n') + '\n';
}

/** Proxies that ACK what they are told to (the current version) or keep what they had. */
class Proxies implements ProxyFeed {
  readonly list: (TrackedProxy & { held: Map<string, { state: string; version: string }> })[] = [];
  readonly #listeners = new Set<(e: ProxyEvent) => void>();
  proxies(): Iterable<TrackedProxy> {
    return this.list;
  }
  onStatusChange(l: (e: ProxyEvent) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }
  open(service: string): void {
    const held = new Map<string, { state: string; version: string }>();
    const p = { streamId: String(this.list.length), nodeId: `${service}-${this.list.length}`, cluster: service, principal: 'insecure', service: 'ads' as const, held, resource: (t: string, n: string) => held.get(`${t} ${n}`) };
    this.list.push(p);
    for (const l of this.#listeners) l({ kind: 'opened', proxy: p });
  }
  /** The proxy ACKs every resource of its service at the version the cache serves now. */
  ackAll(p: Proxies['list'][number], cache: ResourceCache): void {
    for (const t of [LISTENER_TYPE_URL, CLUSTER_TYPE_URL]) {
      for (const n of cache.names(p.cluster, t)) p.held.set(`${t} ${n}`, { state: 'ACKED', version: cache.get(p.cluster, t, n)!.version });
      for (const l of this.#listeners) l({ kind: 'changed', proxy: p, typeUrl: t });
    }
  }
}

/** Only the contract's methods: the gate must then read every STRICT port each time (the reference). */
function plainView(v: TrafficEvidenceView): TrafficEvidenceView {
  return { windowMs: v.windowMs, ports: () => v.ports(), port: (s, p) => v.port(s, p), onChange: (l) => v.onChange(l) };
}

describe('incremental equals fresh under random histories', () => {
  for (const seed of [1, 2, 3, 4]) {
    test(`seed ${seed}`, () => {
      const rand = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      let next = 0;
      const fresh = (): Svc => {
        const name = `s${next++}`;
        return { name, mode: pick(MODES), ...(rand() < 0.5 ? { portMode: pick(MODES) } : {}), force: rand() < 0.1, appPort: 8080, calls: [] };
      };
      let services: Svc[] = Array.from({ length: 24 }, fresh);
      for (const s of services) s.calls = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(services).name).filter((c, i, a) => c !== s.name && a.indexOf(c) === i);

      const clock = new ManualClock();
      const traffic = new Traffic({ clock, logger: silentLogger, mayReport: () => true, windowMs: 48 * 60_000 });
      const refGate = new StrictGate(plainView(traffic.evidence));
      const cache = new ResourceCache();
      const meshResources = new MeshResources(cache);
      const feed = new Proxies();
      const rollout = new RolloutController({ status: () => ({ generatedAt: '', proxies: [] }), feed, resources: cache, onEffectiveChange: (m) => void meshResources.apply(m) });
      // The same, but looking every version up after every push (no change feed from the cache).
      const lookAll: ResourceVersions = { get: (g, t, n) => cache.get(g, t, n) };
      const full = new RolloutController({ status: () => ({ generatedAt: '', proxies: [] }), feed, resources: lookAll, onEffectiveChange: () => {} });
      // The same, told when the policy changes (after every reload here) instead of starting the counts again on
      // every setDesired.
      const told = new RolloutController({ status: () => ({ generatedAt: '', proxies: [] }), feed, toldOfPolicyChanges: true, resources: lookAll, onEffectiveChange: () => {} });

      let desired: MeshModel | undefined;
      // Off: every listener changes (no access-log config) while no service object does.
      let accessLogs = true;
      const reload = (): void => {
        desired = parseMesh(text(services, accessLogs), 'mesh.yaml');
        const gated = traffic.prepare(desired);
        const ref = refGate.apply(desired);
        assert.deepEqual(gated.model.services, ref.model.services, 'the gated model');
        rollout.setDesired(gated.model);
        full.setDesired(gated.model);
        told.setDesired(gated.model);
        told.policyChanged();
        gated.commit();
        ref.commit();
      };
      traffic.onGateChange((m) => {
        refGate.apply(desired!).commit();
        rollout.setDesired(m);
        full.setDesired(m);
        told.setDesired(m);
      });
      const check = (step: number): void => {
        const at = `seed ${seed}, step ${step}`;
        const gated = rollout.desired()!;
        const plans = planRollout(gated);
        // The plans kept across descriptions (same objects when they ask the same) equal plans made afresh.
        assert.deepEqual(plans, planRollout(gated, { afresh: true }), `${at}: plans kept equal plans made afresh`);
        assert.deepEqual(rollout.rolloutStatus(), full.rolloutStatus(), `${at}: status`);
        assert.deepEqual(rollout.state(), full.state(), `${at}: state`);
        assert.deepEqual(told.rolloutStatus(), full.rolloutStatus(), `${at}: status (told of policy changes)`);
        assert.deepEqual(told.state(), full.state(), `${at}: state (told of policy changes)`);
        const state = rollout.state();
        assert.deepEqual([...state.ports.keys()].sort(), plans.map((p) => p.key).sort(), `${at}: a state for every port, none for ports gone`);
        assert.deepEqual([...state.edges.keys()].sort(), plans.flatMap((p) => p.edges.map((e) => e.key)).sort(), `${at}: edges`);
        assert.deepEqual(rollout.rolloutStatus().ports.map((p) => [p.service, p.port, p.asked, p.clients.map((c) => c.client)]), plans.map((p) => [p.service, p.port, p.asked, p.edges.map((e) => e.client)]), `${at}: plans`);
        assert.deepEqual(rollout.effective().services, effectiveModel(gated, plans, state).services, `${at}: effective services`);
        for (const s of rollout.effective().services) assert.equal(rollout.effective().serviceByName(s.name), s, `${at}: lookup ${s.name}`);
        assert.deepEqual(traffic.decisions().map((d) => [d.service, d.port, d.state]), refGate.decisionsIn(desired!).map((d) => [d.service, d.port, d.state]), `${at}: gate decisions`);
        assert.deepEqual(traffic.evidence.ports().map((p) => `${p.service}:${p.port}:${p.evidenceAvailable}`).sort(), knownPorts(desired!).map((p) => `${p.service}:${p.port}:${p.evidenceAvailable}`).sort(), `${at}: evidence ports`);
      };

      reload();
      for (let step = 0; step < 80; step++) {
        const r = rand();
        if (r < 0.35) {
          const s = pick(services);
          const what = rand();
          if (what < 0.3) s.mode = pick(MODES);
          else if (what < 0.6) s.portMode = pick(MODES);
          else if (what < 0.7) s.force = !s.force;
          else if (what < 0.85) s.appPort = 8000 + Math.floor(rand() * 100);
          else s.calls = [pick(services).name].filter((c) => c !== s.name);
          reload();
        } else if (r < 0.42) {
          services.push(fresh());
          services.at(-1)!.calls = [pick(services).name].filter((c) => c !== services.at(-1)!.name);
          reload();
        } else if (r < 0.47 && services.length > 8) {
          services.splice(Math.floor(rand() * services.length), 1);
          reload();
        } else if (r < 0.48) {
          accessLogs = !accessLogs;
          reload();
        } else if (r < 0.5) {
          const [moved] = services.splice(Math.floor(rand() * services.length), 1);
          services.splice(Math.floor(rand() * services.length), 0, moved!);
          reload();
        } else if (r < 0.6) {
          feed.open(pick(services).name);
          rollout.statusChanged();
          full.statusChanged();
          told.statusChanged();
        } else if (r < 0.78) {
          for (const p of feed.list) if (rand() < 0.5) feed.ackAll(p, cache);
          rollout.statusChanged();
          full.statusChanged();
          told.statusChanged();
        } else if (r < 0.93) {
          // Mostly on held ports, mostly mTLS: what releases them (and plaintext, what keeps them held).
          const held = traffic.decisions().filter((d) => d.state === 'held');
          const name = held.length && rand() < 0.7 ? pick(held).service : pick(services).name;
          traffic.evidence.record(name, 15006, rand() < 0.75 ? 'mtls' : 'plaintext', rand() < 0.5 ? '10.0.0.1' : 'spiffe://example.org/x');
          traffic.evidence.record(pick(services).name, 15006, 'mtls', 'spiffe://example.org/y');
          reload();
        } else {
          clock.advance(20 * 60_000);
          reload();
        }
        check(step);
      }
      traffic.close();
    });
  }
});
