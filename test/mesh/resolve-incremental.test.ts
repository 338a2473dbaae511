// The resolver keeps what it resolved for a service item whose text and lookups did not change, proven with its
// counters; a description resolved incrementally equals the same description resolved afresh.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkMesh, parseMesh } from '../../src/mesh/parse.js';
import { meshCounters } from '../../src/mesh/counters.js';
import type { MeshModel } from '../../src/mesh/model.js';
import { syntheticMesh } from '../../bench/synthetic-mesh.js';

/** The model as plain data: functions dropped, value classes (SpiffeId, TrustDomain) as their strings. */
function plain(m: MeshModel): string {
  return JSON.stringify({ td: m.trustDomain.name, mode: m.defaultMode, federation: m.federation, services: m.services }, (_k, v: unknown) =>
    typeof v === 'function' ? undefined : v !== null && typeof v === 'object' && !Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype ? String(v) : v,
  );
}

function counted<T>(fn: () => T): { result: T; partials: number; services: number; reused: number } {
  const before = { ...meshCounters };
  const result = fn();
  return {
    result,
    partials: meshCounters.partialsResolved - before.partialsResolved,
    services: meshCounters.servicesResolved - before.servicesResolved,
    reused: meshCounters.servicesReused - before.servicesReused,
  };
}

describe('incremental resolution', () => {
  const N = 200;

  test('one service edited: it and the services that call it are resolved again, the rest are the same objects', () => {
    const base = parseMesh(syntheticMesh(N), 'mesh.yaml');
    const edit = counted(() => parseMesh(syntheticMesh(N, { edited: { service: 42, appPort: 9090 } }), 'mesh.yaml'));
    // s42's own item; then s42 and its three clients (s39, s40, s41), whose dependency on it changed.
    assert.equal(edit.partials, 1);
    assert.equal(edit.services, 4);
    assert.equal(edit.reused, N - 4);
    const changed = edit.result.services.filter((s, i) => s !== base.services[i]).map((s) => s.name);
    assert.deepEqual(changed.sort(), ['s39', 's40', 's41', 's42']);
    assert.equal(edit.result.serviceByName('s42')!.inbound[0]!.appPort, 9090);
    assert.equal(edit.result.serviceByName('s41')!.outbound.find((o) => o.name === 's42')!.endpoints[0]!.port, 15006);
  });

  test('the same text again resolves nothing; a changed SPIFFE ID reaches the services that admit it by name', () => {
    const text = syntheticMesh(N);
    parseMesh(text, 'mesh.yaml');
    assert.equal(counted(() => parseMesh(text, 'mesh.yaml')).services, 0);
    const renamed = text.replace('/sa/s10\n', '/sa/s10-renamed\n');
    const r = counted(() => parseMesh(renamed, 'mesh.yaml'));
    // s10's item; s11, s12 and s13 admit s10 by name, so their allowed callers read its ID again.
    assert.equal(r.partials, 4);
    assert.equal(r.result.serviceByName('s11')!.allowedCallers.spiffeIds.some((id) => id.toString().endsWith('/sa/s10-renamed')), true);
  });

  test('an incremental resolve equals a fresh one, and a description with a problem is not remembered', () => {
    const edited = syntheticMesh(N, { edited: { service: 7, appPort: 9191 } });
    parseMesh(syntheticMesh(N), 'mesh.yaml');
    const incremental = parseMesh(edited, 'mesh.yaml');
    // Another text in between: the reader and the resolver start afresh for every item.
    parseMesh(syntheticMesh(N, { appPort: 7000 }), 'mesh.yaml');
    const fresh = parseMesh(edited, 'mesh.yaml');
    assert.notEqual(fresh.services[100], incremental.services[100]);
    assert.equal(plain(incremental), plain(fresh));

    const broken = edited.replace('- { service: s9, listenPort: 15102 }', '- { service: nowhere, listenPort: 15102 }');
    const bad = checkMesh(broken, 'mesh.yaml');
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.problems[0]!.code, /UNKNOWN_SERVICE/);
    // Still reported the next time: nothing of the broken resolve was kept.
    assert.equal(checkMesh(broken, 'mesh.yaml').ok, false);
  });
});
