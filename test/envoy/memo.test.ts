// lasting(): values whose key names all they depend on are kept from one mesh to the next (a reload does not
// build and encode them again), within a bound: about twice what one whole mesh uses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lasting, lastingSize } from '../../src/envoy/memo.js';
import { buildNodeResources } from '../../src/envoy/resources.js';
import { DEFAULT_RESOURCE_OPTIONS, type ResourceOptions } from '../../src/envoy/options.js';
import { parseMesh } from '../../src/mesh/parse.js';
import type { MeshModel } from '../../src/mesh/model.js';
import { syntheticMesh } from '../../bench/synthetic-mesh.js';

const meshes = (n: number): MeshModel[] => Array.from({ length: n }, (_, i) => parseMesh(syntheticMesh(3 + i), `m${i}.yaml`));

describe('lasting', () => {
  test('the same key in another mesh gives the very same (frozen) value; make() runs once', () => {
    const opts = {};
    const [a, b] = meshes(2);
    let made = 0;
    const make = () => ({ name: `v${++made}` });
    const v = lasting(a!, opts, 'k', make);
    assert.equal(lasting(b!, opts, 'k', make), v);
    assert.equal(lasting(a!, opts, 'k', make), v);
    assert.equal(made, 1);
    assert.ok(Object.isFrozen(v));
  });

  test('values no mesh uses any more are dropped: at most about twice what one mesh uses', () => {
    const opts = {};
    const ms = meshes(12);
    // Each mesh uses 100 keys of its own: the first mesh's are gone once later meshes used as many.
    ms.forEach((m, i) => {
      for (let k = 0; k < 100; k++) lasting(m, opts, `${i}|${k}`, () => ({ k }));
      assert.ok(lastingSize(opts) <= 200, `after mesh ${i}: ${lastingSize(opts)} kept`);
    });
    let remade = 0;
    lasting(ms[11]!, opts, '0|0', () => ({ k: remade++ }));
    assert.equal(remade, 1, 'the first mesh\'s value was dropped');
  });

  test('a few services rebuilt between full builds keep what the full build made', () => {
    const opts = {};
    const ms = meshes(6);
    for (let k = 0; k < 100; k++) lasting(ms[0]!, opts, `full|${k}`, () => ({ k }));
    // Four small builds (new meshes, a key or two each), then a full build again: nothing to make.
    for (const m of ms.slice(1, 5)) lasting(m, opts, 'small', () => ({ k: -1 }));
    let made = 0;
    for (let k = 0; k < 100; k++) lasting(ms[5]!, opts, `full|${k}`, () => ({ k: made++ }));
    assert.equal(made, 0);
  });

  test('resources built through kept values are byte for byte those of a fresh build', () => {
    const [a, b] = [parseMesh(syntheticMesh(20), 'a.yaml'), parseMesh(syntheticMesh(20, { appPort: 9000 }), 'b.yaml')];
    // Complete options: the builders use this very object, so what they keep is kept for it.
    const opts: ResourceOptions = { ...DEFAULT_RESOURCE_OPTIONS, connectTimeoutMs: 777 };
    const hex = (m: MeshModel) => m.services.flatMap((s) => buildNodeResources(m, s, opts).map((r) => Buffer.from(r.any).toString('hex')));
    const fresh = hex(b);
    const before = lastingSize(opts);
    hex(a);
    assert.ok(lastingSize(opts) > before, 'the other mesh kept values too');
    assert.deepEqual(hex(b), fresh);
  });
});
