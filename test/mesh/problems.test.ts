import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustplaneError } from '../../src/errors.js';
import { checkMesh, formatProblem, MESH_PROBLEM_CODES, MeshError, parseMesh } from '../../src/mesh/index.js';
import { BAD_CASES } from './bad-inputs.js';

describe('mesh description problems: exact message, code and location', () => {
  for (const c of BAD_CASES) {
    test(c.name, () => {
      const r = checkMesh(c.yaml, 'mesh.yaml');
      assert.equal(r.ok, false);
      const got = r.ok ? [] : r.problems.map((p) => `${p.code} ${formatProblem(p)}`);
      assert.deepEqual(got, c.expected);
    });
  }
});

describe('MeshError', () => {
  const yaml = 'trustDomain: example.org\nservices:\n  - name: orders\n    spiffeId: spiffe://example.org/orders\n    mode: STRIKT\n    inbound:\n      - {port: 15006, appPort: 99999}\n';

  test('is a TrustplaneError with code MESH_INVALID listing every problem with file, line and path', () => {
    assert.throws(
      () => parseMesh(yaml, 'meshes/shop.yaml'),
      (err: unknown) => {
        assert.ok(err instanceof MeshError);
        assert.ok(err instanceof TrustplaneError);
        assert.equal(err.code, 'MESH_INVALID');
        assert.deepEqual(
          err.problems.map((p) => [p.code, p.file, p.line, p.column, p.path, p.found, p.accepted]),
          [
            ['INVALID_ENUM', 'meshes/shop.yaml', 5, 11, 'services[0].mode', '"STRIKT"', 'one of DISABLE, PERMISSIVE, STRICT'],
            ['OUT_OF_RANGE', 'meshes/shop.yaml', 7, 32, 'services[0].inbound[0].appPort', '99999', 'an integer from 1 to 65535'],
          ],
        );
        assert.equal(
          err.message,
          'meshes/shop.yaml: 2 problems in the mesh description:\n' +
            '  meshes/shop.yaml:5:11: services[0].mode: invalid value, did you mean "STRICT"? (found "STRIKT"; accepted: one of DISABLE, PERMISSIVE, STRICT)\n' +
            '  meshes/shop.yaml:7:32: services[0].inbound[0].appPort: out of range (found 99999; accepted: an integer from 1 to 65535)',
        );
        return true;
      },
    );
  });

  test('problems are frozen', () => {
    const err = new MeshError('m.yaml', []);
    assert.ok(Object.isFrozen(err.problems));
    assert.equal(err.message, 'm.yaml: 0 problems in the mesh description:\n');
  });

  test('every code used by the bad-input table is catalogued', () => {
    for (const c of BAD_CASES) {
      for (const line of c.expected) {
        const code = line.split(' ')[0]!;
        assert.ok(code in MESH_PROBLEM_CODES, `${code} is not in MESH_PROBLEM_CODES`);
      }
    }
  });

  test('the bad-input table covers every catalogued problem code', () => {
    const used = new Set(BAD_CASES.flatMap((c) => c.expected.map((l) => l.split(' ')[0]!)));
    assert.deepEqual(Object.keys(MESH_PROBLEM_CODES).filter((c) => !used.has(c)), []);
  });
});
