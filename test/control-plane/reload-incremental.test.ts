// Incremental reloads, proven with counters: only services whose resolved inputs changed are rebuilt, re-encoded
// and re-versioned; the cache reports changes only for their groups, and an incremental apply leaves the cache
// exactly as a fresh build of the same description would.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkMesh, parseMesh } from '../../src/mesh/parse.js';
import type { MeshModel } from '../../src/mesh/model.js';
import { MeshResources } from '../../src/control-plane/resources.js';
import { ResourceCache, type ResourceChange } from '../../src/xds/cache/resource-cache.js';
import { CONFIG_TYPES } from '../../src/xds/type-urls.js';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from '../../src/envoy/type-urls.js';
import { syntheticMesh } from '../../bench/synthetic-mesh.js';
import { randomMesh } from '../envoy/fixtures/random-mesh.js';
import { mutateServices, prng } from '../mesh/edits.js';

function recorder(cache: ResourceCache): { changes: ResourceChange[]; groups(): string[] } {
  const changes: ResourceChange[] = [];
  cache.subscribe((c) => changes.push(...c));
  return { changes, groups: () => [...new Set(changes.map((c) => c.group))].sort() };
}

/** Every (group, type, name, version) the cache serves for the mesh's services. */
function contents(cache: ResourceCache, mesh: MeshModel): string[] {
  const out: string[] = [];
  for (const s of mesh.services) for (const t of CONFIG_TYPES) for (const n of cache.names(s.name, t)) out.push(`${s.name} ${t} ${n} ${cache.get(s.name, t, n)!.version}`);
  return out;
}

/**
 * The model as the rollout controller hands it over: the same services, but not saying what changed (no
 * model.changes), so MeshResources finds the changed services by identity.
 */
function unannotated(mesh: MeshModel, services: MeshModel['services'] = mesh.services): MeshModel {
  return Object.freeze({ ...mesh, services, changes: undefined });
}

/** A group's own bytes, and the bytes of the buffers its Anys keep alive. */
function footprint(cache: ResourceCache, group: string): { own: number; held: number } {
  const buffers = new Set<ArrayBufferLike>();
  let own = 0;
  let held = 0;
  for (const t of CONFIG_TYPES) {
    for (const n of cache.names(group, t)) {
      const any = cache.get(group, t, n)!.any;
      own += any.byteLength;
      if (!buffers.has(any.buffer)) buffers.add(any.buffer), (held += any.buffer.byteLength);
    }
  }
  return { own, held };
}

/** A cache built from nothing for the mesh. */
function fresh(mesh: MeshModel): ResourceCache {
  const cache = new ResourceCache();
  new MeshResources(cache).apply(mesh);
  return cache;
}

describe('incremental reloads of the resource cache', () => {
  const N = 10_000;
  const base = parseMesh(syntheticMesh(N), 'mesh.yaml');

  test(`one service of ${N.toLocaleString('en-US')} edited: it alone is rebuilt, and only its group changes`, () => {
    const cache = new ResourceCache();
    const sync = new MeshResources(cache);
    const first = sync.apply(base);
    assert.deepEqual(first, { services: N, servicesRegenerated: N, resourcesRegenerated: N * 8, servicesRemoved: 0, inputsCompared: N });
    const rec = recorder(cache);
    const before = cache.get('s4242', CLUSTER_TYPE_URL, 'inbound_15006_app')!;
    const edited = parseMesh(syntheticMesh(N, { edited: { service: 4242, appPort: 9090 } }), 'mesh.yaml');
    // Only four services' inputs are even looked at: the edited one and its three callers (which name it, so the
    // mesh stage resolved them again, equal); the others are the very objects applied last.
    assert.deepEqual(sync.apply(edited), { services: N, servicesRegenerated: 1, resourcesRegenerated: 8, servicesRemoved: 0, inputsCompared: 4 });
    assert.deepEqual(rec.groups(), ['s4242']);
    // Only the resource whose bytes changed has a new version.
    assert.deepEqual(rec.changes.flatMap((c) => c.names), ['inbound_15006_app']);
    assert.notEqual(cache.get('s4242', CLUSTER_TYPE_URL, 'inbound_15006_app')!.version, before.version);
  });

  test(`every service of ${N.toLocaleString('en-US')} rebuilt, one resource each changed: only those are hashed and reported`, () => {
    const cache = new ResourceCache();
    const sync = new MeshResources(cache);
    sync.apply(base);
    const rec = recorder(cache);
    const counts = cache.versionCounts;
    const kept = cache.get('s17', LISTENER_TYPE_URL, 'inbound_15006')!;
    const changed = cache.get('s17', CLUSTER_TYPE_URL, 'inbound_15006_app')!;
    const moved = parseMesh(syntheticMesh(N, { appPort: 8081 }), 'mesh.yaml');
    assert.deepEqual(sync.apply(moved), { services: N, servicesRegenerated: N, resourcesRegenerated: N * 8, servicesRemoved: 0, inputsCompared: N });
    // The application port is in the local cluster alone: the other seven resources of each service come out
    // byte for byte as they were and keep their versions without being hashed again.
    assert.deepEqual(cache.versionCounts, { hashed: counts.hashed + N, kept: counts.kept + N * 7 });
    assert.deepEqual([...new Set(rec.changes.flatMap((c) => c.names))], ['inbound_15006_app']);
    assert.deepEqual(contents(cache, moved), contents(fresh(moved), moved));
    // The unchanged ones are the very Anys that were in force (no copy made); the changed one is new.
    assert.equal(cache.get('s17', LISTENER_TYPE_URL, 'inbound_15006')!.any, kept.any);
    assert.notEqual(cache.get('s17', CLUSTER_TYPE_URL, 'inbound_15006_app')!.any, changed.any);
  });

  test(`one service of ${N.toLocaleString('en-US')} edited, the model not saying what changed (as the rollout hands it over): four services' inputs looked at`, () => {
    const cache = new ResourceCache();
    const sync = new MeshResources(cache);
    // Parsed in turn, so the edit is patched from this one (the edited service and its callers are new objects).
    sync.apply(unannotated(parseMesh(syntheticMesh(N), 'mesh.yaml')));
    const edited = parseMesh(syntheticMesh(N, { edited: { service: 77, appPort: 9091 } }), 'mesh.yaml');
    assert.deepEqual(sync.apply(unannotated(edited)), { services: N, servicesRegenerated: 1, resourcesRegenerated: 8, servicesRemoved: 0, inputsCompared: 4 });
    // A service replaced by an equal copy (a rollout's held-back service derived again): looked at, not rebuilt.
    const services = [...edited.services];
    services[5] = Object.freeze({ ...services[5]! });
    assert.deepEqual(sync.apply(unannotated(edited, services)), { services: N, servicesRegenerated: 0, resourcesRegenerated: 0, servicesRemoved: 0, inputsCompared: 1 });
    // Mesh-wide inputs changed: every service is looked at (and rebuilt: every listener's access log changes).
    const quiet = parseMesh(`${syntheticMesh(N)}accessLogs: false\n`, 'mesh.yaml');
    assert.equal(sync.apply(quiet).inputsCompared, N);
  });

  test('the same description again, or its services in another order: nothing is rebuilt, nothing changes', () => {
    const cache = new ResourceCache();
    const sync = new MeshResources(cache);
    const small = parseMesh(syntheticMesh(50), 'mesh.yaml');
    sync.apply(small);
    const rec = recorder(cache);
    assert.equal(sync.apply(parseMesh(syntheticMesh(50), 'mesh.yaml')).servicesRegenerated, 0);
    const text = syntheticMesh(50);
    const [head, ...blocks] = text.trimEnd().split(/\n(?=  - name: )/);
    const reversed = [head!, ...blocks.reverse()].join('\n') + '\n';
    assert.equal(sync.apply(parseMesh(reversed, 'mesh.yaml')).servicesRegenerated, 0);
    assert.deepEqual(rec.changes, []);
  });

  test("a new SPIFFE ID for one service rebuilds it, its callers (who check its ID) and its callees (who admit it)", () => {
    const cache = new ResourceCache();
    const sync = new MeshResources(cache);
    const n = 40;
    sync.apply(parseMesh(syntheticMesh(n), 'mesh.yaml'));
    const rec = recorder(cache);
    const text = syntheticMesh(n).replace('spiffe://bench.example.org/ns/n10/sa/s10\n', 'spiffe://bench.example.org/ns/n10/sa/s10-renamed\n');
    const stats = sync.apply(parseMesh(text, 'mesh.yaml'));
    // s10 calls s11..s13 (their RBAC admits it) and is called by s7..s9 (their clusters expect its ID): all seven
    // are rebuilt. s11 is DISABLE (no mTLS chain, no RBAC) and s7 a DISABLE client (plaintext, no SAN check): their
    // bytes come out the same, so their versions stay and their proxies hear nothing.
    assert.equal(stats.servicesRegenerated, 7);
    // The mesh stage resolved exactly those seven again; no other service's inputs were looked at.
    assert.equal(stats.inputsCompared, 7);
    assert.deepEqual(rec.groups(), ['s10', 's12', 's13', 's8', 's9']);
  });

  test('a removed service loses its group; its callers and callees are rebuilt', () => {
    const cache = new ResourceCache();
    const sync = new MeshResources(cache);
    const text = randomMesh(7);
    const m = parseMesh(text, 'r.yaml');
    sync.apply(m);
    const lonely = parseMesh('trustDomain: rand.example.org\nservices:\n  - name: only\n    spiffeId: spiffe://rand.example.org/only\n    nodes: [uid:1]\n', 'r.yaml');
    const stats = sync.apply(lonely);
    assert.equal(stats.servicesRemoved, m.services.length);
    for (const s of m.services) for (const t of CONFIG_TYPES) assert.deepEqual(cache.names(s.name, t), []);
  });

  test('any edit (random descriptions, 60 pairs): the incremental result equals a fresh build', () => {
    let rebuilt = 0;
    let kept = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const a = parseMesh(randomMesh(seed), 'a.yaml');
      // The same services with some details changed: another random description of the same seed family.
      const b = parseMesh(randomMesh(seed + 1000), 'b.yaml');
      for (const [from, to] of [[a, b], [b, a], [a, a]] as const) {
        const cache = new ResourceCache();
        const sync = new MeshResources(cache);
        sync.apply(from);
        const stats = sync.apply(to);
        rebuilt += stats.servicesRegenerated;
        kept += stats.services - stats.servicesRegenerated;
        const fresh = new ResourceCache();
        new MeshResources(fresh).apply(to);
        assert.deepEqual(contents(cache, to), contents(fresh, to), `seed ${seed}`);
        assert.deepEqual(contents(cache, from).filter((l) => !to.serviceByName(l.split(' ')[0]!)), [], `seed ${seed}: groups of removed services remain`);
      }
    }
    assert.ok(rebuilt > 0 && kept > 0, `rebuilt ${rebuilt}, kept ${kept}`);
  });
});

describe('incremental applies over a history of edits', () => {
  test('150 random edits of a description (services edited, added, removed, moved; mesh-wide keys): every apply equals a fresh build', () => {
    const r = prng(23);
    let good = syntheticMesh(60);
    let text = good;
    let previous = parseMesh(good, 'mesh.yaml');
    // One fed the parsed models (which say what changed), one the same models without (found by identity).
    const annotated = new ResourceCache();
    const byIdentity = new ResourceCache();
    const a = new MeshResources(annotated);
    const b = new MeshResources(byIdentity);
    a.apply(previous);
    b.apply(unannotated(previous));
    let applied = 0;
    let narrowed = 0;
    for (let k = 0; k < 150; k++) {
      const next = mutateServices(text, r);
      const check = checkMesh(next, 'mesh.yaml');
      if (!check.ok) {
        text = r() < 0.5 ? next : good;
        continue;
      }
      const m = check.model;
      const sa = a.apply(m);
      const sb = b.apply(unannotated(m));
      const want = contents(fresh(m), m);
      assert.deepEqual(contents(annotated, m), want, `edit ${k}: annotated`);
      assert.deepEqual(contents(byIdentity, m), want, `edit ${k}: by identity`);
      assert.equal(sa.servicesRegenerated, sb.servicesRegenerated, `edit ${k}`);
      // Anys handed back keep their old buffers alive; a group never holds much more than its own bytes.
      for (const s of m.services) {
        const { own, held } = footprint(annotated, s.name);
        assert.ok(held <= 3 * own, `edit ${k}: ${s.name} holds ${held} bytes of buffers for ${own} of its own`);
      }
      // No group of a service that left remains.
      for (const s of previous.services) {
        if (m.serviceByName(s.name)) continue;
        for (const t of CONFIG_TYPES) assert.deepEqual([...annotated.names(s.name, t), ...byIdentity.names(s.name, t)], [], `edit ${k}: ${s.name} remains`);
      }
      // Only services that are not the very objects applied last are looked at, unless mesh-wide inputs changed.
      if (m.accessLogs === previous.accessLogs) {
        const had = new Set(previous.services);
        const fresher = m.services.filter((s) => !had.has(s)).length;
        assert.ok(sb.inputsCompared <= fresher, `edit ${k}: ${sb.inputsCompared} looked at, ${fresher} new objects`);
        assert.ok(sa.inputsCompared <= fresher, `edit ${k}: ${sa.inputsCompared} looked at, ${fresher} new objects`);
        if (sa.inputsCompared < m.services.length) narrowed++;
      }
      applied++;
      previous = m;
      good = text = next;
    }
    assert.ok(applied > 60 && narrowed > 40, `${applied} applied, ${narrowed} narrowed`);
  });
});

describe('a change scoped to one group reaches only that group\'s streams', () => {
  test('wildcard and named subscribers of other groups are not told; the default group reaches all', async () => {
    const { SubscriptionIndex } = await import('../../src/xds/protocol/subscription-index.js');
    const index = new SubscriptionIndex();
    const dirty: string[] = [];
    const stream = (name: string, group: string | undefined) => ({ group, markDirty: () => dirty.push(name) });
    const a = stream('a', 's1');
    const b = stream('b', 's2');
    const early = stream('early', undefined);
    const named = stream('named', 's2');
    for (const s of [a, b, early]) index.setWildcard(s, CLUSTER_TYPE_URL, true);
    index.add(named, CLUSTER_TYPE_URL, 'inbound_15006_app');
    assert.equal(index.notify(CLUSTER_TYPE_URL, ['inbound_15006_app'], 0, 's1'), 2);
    assert.deepEqual(dirty.sort(), ['a', 'early']);
    dirty.length = 0;
    assert.equal(index.notify(CLUSTER_TYPE_URL, ['inbound_15006_app'], 0, ''), 4);
    dirty.length = 0;
    index.setWildcard(a, CLUSTER_TYPE_URL, false);
    index.notify(CLUSTER_TYPE_URL, ['x'], 0, 's1');
    assert.deepEqual(dirty, ['early']);
  });
});
