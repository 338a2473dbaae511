// A description edited a little is read, checked, resolved and indexed by patching the last one, proven with the
// stage's counters; whatever the edit (services changed, added, removed, moved, top-level keys, problems brought in
// and fixed), the patched model equals the same description built afresh from the yaml library's reading.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkMesh, checkRead, parseMesh } from '../../src/mesh/parse.js';
import { meshCounters } from '../../src/mesh/counters.js';
import { yamlSourceTree } from '../../src/mesh/source-tree.js';
import { principalToString } from '../../src/mesh/principal.js';
import type { MeshModel } from '../../src/mesh/model.js';
import { syntheticMesh } from '../../bench/synthetic-mesh.js';
import { mutateServices, prng } from './edits.js';

/** The model as plain data: functions dropped, value classes (SpiffeId, TrustDomain) as their strings. */
function plain(m: MeshModel): string {
  return JSON.stringify({ td: m.trustDomain.name, mode: m.defaultMode, logs: m.accessLogs, federation: m.federation, services: m.services }, (_k, v: unknown) =>
    typeof v === 'function' ? undefined : v !== null && typeof v === 'object' && !Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype ? String(v) : v,
  );
}

/** The counters' increase while fn runs. */
function counted<T>(fn: () => T): { result: T } & typeof meshCounters {
  const before = { ...meshCounters };
  const result = fn();
  const d = { ...meshCounters };
  for (const k of Object.keys(d) as (keyof typeof meshCounters)[]) d[k] -= before[k];
  return { result, ...d };
}

/** The same description read by the yaml library: nothing shared with any earlier read. */
function fresh(text: string) {
  return checkRead(yamlSourceTree(text), 'mesh.yaml', false);
}

/** Asserts two models answer alike: values, lookups, positions. */
function sameModel(got: MeshModel, want: MeshModel, where: string): void {
  assert.equal(plain(got), plain(want), `${where}: models differ`);
  assert.ok(Object.isFrozen(got.services) && got.services.every((s) => Object.isFrozen(s) && Object.isFrozen(s.inbound) && Object.isFrozen(s.outbound)), `${where}: not frozen`);
  for (const s of want.services) {
    assert.equal(got.serviceByName(s.name)?.path, s.path, `${where}: serviceByName ${s.name}`);
    assert.equal(got.serviceBySpiffeId(s.spiffeId)?.path, s.path, `${where}: serviceBySpiffeId ${s.spiffeId.toString()}`);
    for (const p of s.nodes) {
      assert.deepEqual(got.servicesForPrincipal(p).map((x) => x.path), want.servicesForPrincipal(p).map((x) => x.path), `${where}: servicesForPrincipal ${principalToString(p)}`);
    }
    for (const path of [s.path, `${s.path}.name`, `${s.path}.inbound[0].port`, `${s.path}.outbound[2]`, `${s.path}.allowedCallers[1].service`]) {
      assert.deepEqual(got.locate(path), want.locate(path), `${where}: locate ${path}`);
    }
  }
  assert.equal(got.serviceByName('nowhere'), undefined);
}

describe('incremental reading', () => {
  const N = 200;

  test('one service edited: it is read and checked again, it and the services that call it resolved again, the rest are the same objects', () => {
    const base = parseMesh(syntheticMesh(N), 'mesh.yaml');
    const edit = counted(() => parseMesh(syntheticMesh(N, { edited: { service: 42, appPort: 9090 } }), 'mesh.yaml'));
    assert.equal(edit.deltaReads, 1);
    // One value of one item read again (the port line), the rest of its tree shared with the last read.
    assert.equal(edit.itemsRead, 0);
    assert.equal(edit.itemsPatched, 1);
    // The service and the one list item that is a new tree (its inbound port); outbound and callers are shared.
    assert.equal(edit.itemsChecked, 2);
    // s42's own item; then s42 and its three clients (s39, s40, s41), whose dependency on it changed.
    assert.equal(edit.partialsResolved, 1);
    assert.equal(edit.servicesResolved, 4);
    assert.equal(edit.servicesReused, N - 4);
    const changed = edit.result.services.filter((s, i) => s !== base.services[i]).map((s) => s.name);
    assert.deepEqual(changed.sort(), ['s39', 's40', 's41', 's42']);
    assert.equal(edit.result.serviceByName('s42')!.inbound[0]!.appPort, 9090);
    assert.equal(edit.result.serviceByName('s41')!.outbound.find((o) => o.name === 's42')!.endpoints[0]!.port, 15006);
    // What changed, as data for the stages after this one.
    assert.equal(edit.result.changes?.previous, base.services);
    assert.deepEqual(edit.result.changes.changed.map((s) => s.name), ['s39', 's40', 's41', 's42']);
    assert.deepEqual(edit.result.changes.removed.map((s) => s.name), ['s39', 's40', 's41', 's42']);
    assert.ok(edit.result.changes.removed.every((s) => base.services.includes(s)));
  });

  test('the work of a one-service edit does not grow with the description (2,000 services, as many as 200)', () => {
    const n = 2000;
    parseMesh(syntheticMesh(n), 'mesh.yaml');
    const edit = counted(() => parseMesh(syntheticMesh(n, { edited: { service: 1234, appPort: 9090 } }), 'mesh.yaml'));
    assert.deepEqual(
      { fullReads: edit.fullReads, itemsRead: edit.itemsRead, itemsPatched: edit.itemsPatched, itemsChecked: edit.itemsChecked, partials: edit.partialsResolved, services: edit.servicesResolved, deltaResolves: edit.deltaResolves },
      { fullReads: 0, itemsRead: 0, itemsPatched: 1, itemsChecked: 2, partials: 1, services: 4, deltaResolves: 1 },
    );
  });

  test('every service\'s application port changed: each is resolved again, but its callers and dependencies are the last objects', () => {
    const base = parseMesh(syntheticMesh(N), 'mesh.yaml');
    const text = syntheticMesh(N, { appPort: 7000 });
    const all = counted(() => parseMesh(text, 'mesh.yaml'));
    // One value per item read and checked again (the service map and its port); lists whose text is unchanged
    // keep their values, so every service's allowedCallers and outbound list is taken whole.
    assert.deepEqual(
      { itemsRead: all.itemsRead, itemsPatched: all.itemsPatched, itemsChecked: all.itemsChecked, services: all.servicesResolved, parts: all.partsReused },
      { itemsRead: 0, itemsPatched: N, itemsChecked: 2 * N, services: N, parts: 2 * N },
    );
    all.result.services.forEach((s, i) => {
      assert.notEqual(s, base.services[i]);
      assert.equal(s.outbound, base.services[i]!.outbound);
      assert.equal(s.allowedCallers, base.services[i]!.allowedCallers);
      assert.equal(s.inbound[0]!.appPort, 7000);
    });
    sameModel(all.result, (fresh(text) as { model: MeshModel }).model, 'every port');
  });

  test('the same text again resolves nothing; a changed SPIFFE ID reaches the services that admit it by name', () => {
    const text = syntheticMesh(N);
    parseMesh(text, 'mesh.yaml');
    assert.equal(counted(() => parseMesh(text, 'mesh.yaml')).servicesResolved, 0);
    const renamed = text.replace('/sa/s10\n', '/sa/s10-renamed\n');
    const r = counted(() => parseMesh(renamed, 'mesh.yaml'));
    // s10's item; s11, s12 and s13 admit s10 by name, so their allowed callers read its ID again.
    assert.equal(r.partialsResolved, 4);
    assert.equal(r.result.serviceByName('s11')!.allowedCallers.spiffeIds.some((id) => id.toString().endsWith('/sa/s10-renamed')), true);
    sameModel(r.result, (fresh(renamed) as { model: MeshModel }).model, 'renamed');
  });

  test('a service appended, removed, or moved: the patched model equals a fresh one', () => {
    const text = syntheticMesh(N);
    parseMesh(text, 'mesh.yaml');
    const appended = `${text}  - name: extra\n    spiffeId: spiffe://bench.example.org/ns/x/sa/extra\n    inbound:\n      - { port: 15006, appPort: 8080 }\n    outbound:\n      - { service: s3, listenPort: 15101 }\n`;
    const a = counted(() => parseMesh(appended, 'mesh.yaml'));
    assert.equal(a.itemsRead, 1);
    assert.equal(a.servicesResolved, 1);
    sameModel(a.result, (fresh(appended) as { model: MeshModel }).model, 'appended');
    const items = text.split(/(?=^ {2}- name: )/m);
    const moved = [items[0], ...items.slice(1, 10), items[12], items[10], items[11], ...items.slice(13)].join('');
    const m = counted(() => parseMesh(moved, 'mesh.yaml'));
    assert.equal(m.itemsRead, 0, 'moved services are not read again');
    sameModel(m.result, (fresh(moved) as { model: MeshModel }).model, 'moved');
  });

  test('a description with a problem is reported as the yaml library reads it, and the last good state stays the base of the next edit', () => {
    const good = syntheticMesh(N, { edited: { service: 7, appPort: 9191 } });
    parseMesh(good, 'mesh.yaml');
    const broken = good.replace('- { service: s9, listenPort: 15102 }', '- { service: nowhere, listenPort: 15102 }');
    const bad = checkMesh(broken, 'mesh.yaml');
    assert.equal(bad.ok, false);
    assert.deepEqual(bad.ok ? [] : bad.problems, (fresh(broken) as { problems: readonly unknown[] }).problems);
    assert.match(bad.ok ? '' : bad.problems[0]!.code, /UNKNOWN_SERVICE/);
    // Still reported the next time: nothing of the broken resolve was kept.
    assert.equal(checkMesh(broken, 'mesh.yaml').ok, false);
    // Fixed by another edit: patched from the last good state, one service read and four resolved.
    const fixed = syntheticMesh(N, { edited: { service: 8, appPort: 9191 } });
    const f = counted(() => parseMesh(fixed, 'mesh.yaml'));
    assert.equal(f.deltaResolves, 1);
    sameModel(f.result, (fresh(fixed) as { model: MeshModel }).model, 'fixed');
  });

  test('400 random edit pairs: every patched model equals the same description built afresh, problems are the yaml library\'s', () => {
    const r = prng(11);
    let good = syntheticMesh(150);
    let goodModel = parseMesh(good, 'mesh.yaml');
    let text = good;
    let patched = 0;
    for (let k = 0; k < 400; k++) {
      const next = mutateServices(text, r);
      const got = checkMesh(next, 'mesh.yaml');
      const want = fresh(next);
      assert.equal(got.ok, want.ok, `edit ${k}: verdicts differ`);
      if (!got.ok || !want.ok) {
        assert.deepEqual(got.ok ? [] : got.problems, want.ok ? [] : want.problems, `edit ${k}: problems differ`);
        // Half the time the error stays (the next edit is made to the broken text), half the time it is fixed.
        text = r() < 0.5 ? next : good;
        continue;
      }
      sameModel(got.model, want.model, `edit ${k}`);
      const c = got.model.changes;
      if (c && c.previous === goodModel.services) {
        patched++;
        // Every service not named as changed is the very same object as in the model before.
        const changed = new Set(c.changed);
        const before = new Set(goodModel.services);
        for (const s of got.model.services) assert.ok(changed.has(s) || before.has(s), `edit ${k}: ${s.name} is new but not listed as changed`);
        const kept = new Set(got.model.services);
        for (const s of goodModel.services) assert.equal(kept.has(s), !c.removed.includes(s), `edit ${k}: ${s.name} removed or not`);
      }
      good = text = next;
      goodModel = got.model;
    }
    assert.ok(patched > 100, `only ${patched} edits were patched`);
  });
});
