// The rollout controller's reload work is incremental, proven with counters: a one-service edit replans only the
// ports whose inputs changed and re-records only the resources whose plan, state in force or version changed; the
// kept plans are the same objects, and the result equals a controller that starts from the edited description.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMesh } from '../../src/mesh/parse.js';
import { RolloutController } from '../../src/rollout/controller.js';
import { planCounters, planRollout } from '../../src/rollout/plan.js';
import { MeshResources } from '../../src/control-plane/resources.js';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import type { ProxyStatusSnapshot } from '../../src/xds/status/proxy-status.js';
import { syntheticMesh } from '../../bench/synthetic-mesh.js';
import { ManualClock } from '../../src/clock.js';
import { silentLogger } from '../../src/observe/log.js';
import { gateCounters } from '../../src/traffic/gate.js';
import { Traffic } from '../../src/traffic/traffic.js';
import { diffCounters } from '../../src/mesh/service-diff.js';
import { LISTENER_TYPE_URL } from '../../src/envoy/type-urls.js';
import { create } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';

function controller(): { rollout: RolloutController; cache: ResourceCache } {
  const cache = new ResourceCache();
  const resources = new MeshResources(cache);
  const rollout = new RolloutController({
    status: (): ProxyStatusSnapshot => ({ generatedAt: '2025-01-01T00:00:00.000Z', proxies: [] }),
    resources: cache,
    onEffectiveChange: (m) => void resources.apply(m),
  });
  return { rollout, cache };
}

/** The description with service `i`'s own mode changed (its line in syntheticMesh's output). */
function withMode(text: string, i: number, from: string, to: string): string {
  const at = text.indexOf(`  - name: s${i}\n`);
  const line = text.indexOf(`    mode: ${from}\n`, at);
  assert.ok(at >= 0 && line > at);
  return text.slice(0, line) + `    mode: ${to}\n` + text.slice(line + `    mode: ${from}\n`.length);
}

describe('incremental rollout work', () => {
  const N = 300;

  test('one service edited: only the ports and edges its edit reaches are replanned and re-recorded', () => {
    const { rollout } = controller();
    const base = parseMesh(syntheticMesh(N), 'mesh.yaml');
    rollout.setDesired(base);
    const plansBefore = planRollout(base);
    const before = { ...planCounters, rerecorded: rollout.stats().rerecorded };
    // s42 asks PERMISSIVE instead of STRICT: its port's plan and its own edges (its mode) change.
    const edited = parseMesh(withMode(syntheticMesh(N), 42, 'STRICT', 'PERMISSIVE'), 'mesh.yaml');
    rollout.setDesired(edited);
    // s42's three edges; s39..s41's edges to s42 (new service objects) ask the same: kept.
    assert.equal(planCounters.edgesPlanned - before.edgesPlanned, 3);
    assert.equal(planCounters.edgesKept - before.edgesKept, 3 * 3);
    // s42's port and the ports its new edges reach (s43..s45); s39..s41 are looked at and kept.
    const replanned = planCounters.portsPlanned - before.portsPlanned;
    assert.equal(replanned, 4);
    assert.equal(planCounters.portsKept - before.portsKept, 3);
    // Re-recorded: the listeners of those 4 ports and s42's 3 clusters; none of the other ~1,200.
    assert.equal(rollout.stats().rerecorded - before.rerecorded, 4 + 3);
    const after = planRollout(edited);
    const kept = after.filter((p, i) => p === plansBefore[i]).length;
    assert.equal(kept, N - replanned);
    assert.deepEqual(after, planRollout(edited, { afresh: true }));
  });

  test('an edit no plan reads (an application port) keeps every plan: nothing replanned, stepped or re-recorded', () => {
    const { rollout } = controller();
    const base = parseMesh(syntheticMesh(N), 'mesh.yaml');
    rollout.setDesired(base);
    const plansBefore = planRollout(base);
    const before = { ...planCounters, ...rollout.stats() };
    // Every service's application port: every service object is new, and only its local cluster changes.
    const edited = parseMesh(syntheticMesh(N, { appPort: 9090 }), 'mesh.yaml');
    rollout.setDesired(edited);
    assert.equal(planCounters.edgesPlanned - before.edgesPlanned, 0);
    assert.equal(planCounters.portsPlanned - before.portsPlanned, 0);
    assert.equal(planCounters.portsKept - before.portsKept, N);
    const stats = rollout.stats();
    // Each new object reads the same of the state as the one it replaces: its overrides are kept, none looked up.
    assert.deepEqual([stats.stepped - before.stepped, stats.rerecorded - before.rerecorded, stats.derived - before.derived], [0, 0, 0]);
    assert.ok(planRollout(edited).every((p, i) => p === plansBefore[i]), 'the same plan objects');
    assert.deepEqual(planRollout(edited), planRollout(edited, { afresh: true }));
  });

  test('a service held back the same way as before is the same derived object (no inputs compared downstream)', () => {
    const { rollout } = controller();
    rollout.setDesired(parseMesh(syntheticMesh(N), 'mesh.yaml'));
    // s4 asks STRICT, but s3 (DISABLE) calls it in plaintext: its port is held at PERMISSIVE, a derived copy.
    const held = rollout.effective().serviceByName('s4')!;
    assert.equal(held.inbound[0]!.mode, 'PERMISSIVE');
    assert.notEqual(held, rollout.desired()!.serviceByName('s4'));
    rollout.setDesired(parseMesh(syntheticMesh(N, { edited: { service: 42, appPort: 9090 } }), 'mesh.yaml'));
    assert.equal(rollout.effective().serviceByName('s4'), held);
  });

  test('the same description again: nothing replanned, nothing re-recorded', () => {
    const { rollout } = controller();
    const text = syntheticMesh(N);
    rollout.setDesired(parseMesh(text, 'mesh.yaml'));
    const before = { ...planCounters, rerecorded: rollout.stats().rerecorded };
    rollout.setDesired(parseMesh(text, 'mesh.yaml'));
    assert.equal(planCounters.portsPlanned - before.portsPlanned, 0);
    assert.equal(planCounters.edgesPlanned - before.edgesPlanned, 0);
    assert.equal(rollout.stats().rerecorded - before.rerecorded, 0);
  });

  test('incremental equals fresh: the same status and effective model as a controller given the edit first', () => {
    const a = controller();
    a.rollout.setDesired(parseMesh(syntheticMesh(N), 'mesh.yaml'));
    const edited = syntheticMesh(N, { edited: { service: 7, appPort: 9191 } });
    a.rollout.setDesired(parseMesh(edited, 'mesh.yaml'));
    const b = controller();
    parseMesh(syntheticMesh(N, { appPort: 7000 }), 'mesh.yaml');
    b.rollout.setDesired(parseMesh(edited, 'mesh.yaml'));
    assert.deepEqual(a.rollout.rolloutStatus(), b.rollout.rolloutStatus());
    for (const s of a.rollout.effective().services) {
      for (const t of ['type.googleapis.com/envoy.config.listener.v3.Listener', 'type.googleapis.com/envoy.config.cluster.v3.Cluster']) {
        for (const n of a.cache.names(s.name, t as never)) assert.equal(a.cache.get(s.name, t as never, n)!.version, b.cache.get(s.name, t as never, n)!.version);
      }
    }
  });

  test('a large mesh: a one-service edit costs O(1) ports in the gate, the plan, the steps, the derivation and the recording', () => {
    const M = 3000;
    const { rollout } = controller();
    const traffic = new Traffic({ clock: new ManualClock(), logger: silentLogger, mayReport: () => true });
    const reload = (text: string): void => {
      const gated = traffic.prepare(parseMesh(text, 'mesh.yaml'));
      rollout.setDesired(gated.model);
      gated.commit();
    };
    reload(syntheticMesh(M));
    const cost = (f: () => void) => {
      const g = { ...gateCounters };
      const p = { ...planCounters };
      const r = rollout.stats();
      const d = diffCounters.reshaped;
      f();
      const now = rollout.stats();
      return {
        decided: gateCounters.decided - g.decided,
        evidenceRead: gateCounters.evidenceRead - g.evidenceRead,
        planned: planCounters.portsPlanned + planCounters.portsKept - p.portsPlanned - p.portsKept,
        stepped: now.stepped - r.stepped,
        derived: now.derived - r.derived,
        rerecorded: now.rerecorded - r.rerecorded,
        classified: now.classified - r.classified,
        reshaped: diffCounters.reshaped - d,
      };
    };
    // s42 edited: s39..s42 are re-resolved (their view of s42 changed); s43..s45 gain new edges from s42.
    const edit = cost(() => reload(syntheticMesh(M, { edited: { service: 42, appPort: 9090 } })));
    // The four new service objects (s42 and its clients) ask the same of the gate (s40 and s42 ask STRICT with the
    // same force: their decisions are kept) and of the rollout: their ports are looked at and kept (no step, no
    // recording: only s42's local cluster changed, which no step waits on); the four keep their overrides.
    assert.deepEqual(edit, { decided: 0, evidenceRead: 0, planned: 4, stepped: 0, derived: 0, rerecorded: 0, classified: 0, reshaped: 0 });
    // The gate, the controller and the evidence's ports share one diff of the two descriptions.
    const made = diffCounters.made;
    reload(syntheticMesh(M, { edited: { service: 42, appPort: 9091 } }));
    assert.equal(diffCounters.made - made, 1, 'one diff per reload');
    const back = cost(() => reload(syntheticMesh(M)));
    assert.deepEqual(back, edit, 'and back: the same work');
    const again = cost(() => reload(syntheticMesh(M)));
    assert.deepEqual(again, { decided: 0, evidenceRead: 0, planned: 0, stepped: 0, derived: 0, rerecorded: 0, classified: 0, reshaped: 0 }, 'the same description: nothing');

    // Evidence on one STRICT port: the gate reads that port's evidence, no other.
    traffic.evidence.record('s100', 15006, 'mtls', 'spiffe://bench.example.org/ns/n99/sa/s99');
    const evidence = cost(() => reload(syntheticMesh(M)));
    assert.deepEqual([evidence.decided, evidence.evidenceRead, evidence.planned, evidence.stepped], [1, 1, 0, 0]);

    // s41 (PERMISSIVE) now asks STRICT: the gate decides that port only (s38 and s40, re-resolved, keep theirs).
    const strict = cost(() => reload(withMode(syntheticMesh(M), 41, 'PERMISSIVE', 'STRICT')));
    assert.deepEqual([strict.decided, strict.evidenceRead], [1, 1]);
    assert.equal(traffic.decisions().find((d) => d.service === 's41')?.state, 'held', 'no evidence yet');

    // With a port held, a one-service edit holds again only the services it changed (s39..s42), not every service.
    const held = gateCounters.heldDerived;
    reload(withMode(syntheticMesh(M, { edited: { service: 42, appPort: 9090 } }), 41, 'PERMISSIVE', 'STRICT'));
    assert.equal(gateCounters.heldDerived - held, 4);
    assert.equal(rollout.desired()!.serviceByName('s41')!.inbound[0]!.mode, 'PERMISSIVE', 'still held');
    assert.equal(rollout.desired()!.serviceByName('s40')!.outbound.find((d) => d.name === 's41')!.serverMode, 'PERMISSIVE', 'and its clients told so');
    traffic.close();
  });

  test('a version the cache changes with no plan or state change is recorded (the cache says which)', () => {
    const { rollout, cache } = controller();
    rollout.setDesired(parseMesh(syntheticMesh(12), 'mesh.yaml'));
    const before = rollout.stats().rerecorded;
    // What a generator change would do: s5's listener bytes change, nothing in the description does.
    const had = cache.get('s5', LISTENER_TYPE_URL, 'inbound_15006')!;
    const names = cache.names('s5', LISTENER_TYPE_URL);
    cache.setSnapshot('s5', {
      [LISTENER_TYPE_URL]: names.map((n) => {
        const r = cache.get('s5', LISTENER_TYPE_URL, n)!;
        return { name: n, resource: create(AnySchema, { typeUrl: LISTENER_TYPE_URL, value: n === 'inbound_15006' ? new Uint8Array([...r.any.slice(0, 0), 0x0a, 0x01, 0x78]) : r.any }) };
      }),
    } as never);
    assert.notEqual(cache.get('s5', LISTENER_TYPE_URL, 'inbound_15006')!.version, had.version);
    // The next change anywhere (here: s9 edited) records s5's new version too, without looking at any other.
    rollout.setDesired(parseMesh(syntheticMesh(12, { edited: { service: 9, appPort: 9090 } }), 'mesh.yaml'));
    const edited = rollout.stats().rerecorded - before;
    assert.equal(edited, 1, "s5's listener (the edit changes no plan and no listener)");
  });
});
