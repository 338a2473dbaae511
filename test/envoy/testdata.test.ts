// One small input per feature, beside the example meshes: test/envoy/testdata/in/<feature>.yaml is generated and
// compared with out/<feature>.yaml (Envoy Gateway's translator testdata layout), and every resource of it must
// parse strictly against Envoy's v3 protos. TRUSTPLANE_UPDATE_TESTDATA=1 rewrites the out/ files instead.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderFeatureGolden } from '../../src/envoy/golden.js';
import { buildNodeResources, isGenerated } from '../../src/envoy/resources.js';
import { checkEnvoyBinary } from '../../src/envoy/strict.js';
import { parseMesh } from '../../src/mesh/parse.js';

const DIR = fileURLToPath(new URL('../../../test/envoy/testdata/', import.meta.url));
const update = process.env['TRUSTPLANE_UPDATE_TESTDATA'] === '1';
const features = readdirSync(join(DIR, 'in')).filter((f) => f.endsWith('.yaml')).sort();

describe('per-feature golden testdata (in/*.yaml → out/*.yaml)', () => {
  test('there is an output for every input and an input for every output', () => {
    if (update) return;
    assert.deepEqual(readdirSync(join(DIR, 'out')).filter((f) => f.endsWith('.yaml')).sort(), features);
  });
  for (const f of features) {
    test(f, () => {
      const text = readFileSync(join(DIR, 'in', f), 'utf8');
      const source = `testdata/in/${f}`;
      const rendered = renderFeatureGolden(text, source);
      const out = join(DIR, 'out', f);
      if (update) writeFileSync(out, rendered);
      assert.equal(rendered, readFileSync(out, 'utf8'), `${out} is stale: run TRUSTPLANE_UPDATE_TESTDATA=1 node scripts/test.mjs envoy/testdata`);
      const mesh = parseMesh(text, source);
      let n = 0;
      for (const s of mesh.services) {
        if (!isGenerated(s)) continue;
        for (const r of buildNodeResources(mesh, s)) {
          checkEnvoyBinary(r.typeUrl, r.bytes, `${f} ${s.name} ${r.name}`);
          n++;
        }
      }
      assert.ok(n > 0, `${f} generates nothing`);
    });
  }
});
