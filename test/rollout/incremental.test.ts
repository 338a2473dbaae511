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

describe('incremental rollout work', () => {
  const N = 300;

  test('one service edited: only the ports and edges its edit reaches are replanned and re-recorded', () => {
    const { rollout } = controller();
    const base = parseMesh(syntheticMesh(N), 'mesh.yaml');
    rollout.setDesired(base);
    const plansBefore = planRollout(base);
    const before = { ...planCounters, rerecorded: rollout.stats().rerecorded };
    // s42's application port: its listener's bytes change, its clients' clusters do not.
    const edited = parseMesh(syntheticMesh(N, { edited: { service: 42, appPort: 9090 } }), 'mesh.yaml');
    rollout.setDesired(edited);
    // Edges of s42 (its own outbound) and of its three clients, whose service objects are new.
    assert.equal(planCounters.edgesPlanned - before.edgesPlanned, 4 * 3);
    // The ports of the four re-resolved services (s39..s42) and those their new edges reach (s40..s45): s39..s45.
    const replanned = planCounters.portsPlanned - before.portsPlanned;
    assert.equal(replanned, 7);
    // No other port is even looked at: the planner visits the servers the changed services reach, nothing else.
    assert.equal(planCounters.portsKept - before.portsKept, 0);
    // Re-recorded: the listeners of those 7 ports and the 12 new edges' clusters; none of the other ~1,200.
    assert.equal(rollout.stats().rerecorded - before.rerecorded, 7 + 12);
    const after = planRollout(edited);
    const kept = after.filter((p, i) => p === plansBefore[i]).length;
    assert.equal(kept, N - replanned);
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
});
