// The fast reader takes the plain YAML of mesh descriptions and gives exactly the tree (values and positions) the
// `yaml` library gives; anything outside its subset it leaves to the `yaml` library, and it never accepts text the
// `yaml` library rejects. Checked on every example, every bad-input fixture, randomized descriptions, the bench's
// 10,000-service shape, and thousands of random mutations of them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { readFastYaml } from '../../src/mesh/fast-yaml.js';
import { yamlSourceTree } from '../../src/mesh/source-tree.js';
import { checkMesh } from '../../src/mesh/parse.js';
import { syntheticMesh } from '../../bench/synthetic-mesh.js';
import { randomMesh } from '../envoy/fixtures/random-mesh.js';
import { BAD_CASES } from './bad-inputs.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const examples = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => ({ name: `examples/${f}`, text: readFileSync(join(ROOT, 'examples', f), 'utf8') }));

/** Asserts the fast reader agrees with the `yaml` library; returns whether it took the text. */
function agrees(text: string, where: string): boolean {
  const fast = readFastYaml(text);
  if (fast === undefined) return false;
  const slow = yamlSourceTree(text);
  assert.deepEqual(slow.errors, [], `${where}: the fast reader took text the yaml library rejects:\n${text}`);
  assert.deepEqual(fast, slow.root, `${where}: trees differ`);
  return true;
}

/** mulberry32, seeded. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fast YAML reader', () => {
  test('takes every example and gives the same tree as the yaml library', () => {
    for (const e of examples) assert.ok(agrees(e.text, e.name), `${e.name} was not taken`);
  });

  test('takes randomized descriptions, the yaml library\'s own output of them, and the bench shape', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const text = randomMesh(seed);
      assert.ok(agrees(text, `random ${seed}`), `random ${seed} was not taken`);
      // Block style as the yaml library writes it (quoted strings, nested lists under keys).
      agrees(stringify(yamlSourceTreeValue(text)), `random ${seed}, restyled`);
    }
    assert.ok(agrees(syntheticMesh(300), 'bench shape'));
  });

  test('every bad-input fixture: same tree, or left to the yaml library; the problems are unchanged', () => {
    for (const c of BAD_CASES) agrees(c.yaml, c.name);
  });

  test('outside the subset: left to the yaml library', () => {
    const outside = [
      'a: &x 1\nb: *x\n', // anchors, aliases
      'a: !!str 1\n', // tags
      'a: |\n  text\n', // block scalars
      'a: >\n  text\n',
      'a: one\n  two\n', // multi-line plain scalar
      'a: "x\\ny"\n', // escapes
      'a: 1.5\n', // floats, hex, octal, signed and zero-padded integers
      'a: 0x1F\n',
      'a: 0o17\n',
      'a: +5\n',
      'a: 007\n',
      'a: .inf\n',
      'a: 1e3\n',
      'a: 1\na: 2\n', // duplicate keys
      '---\na: 1\n', // document markers
      'a:\tb\n', // tabs
      'a:\n', // empty values
      '? a\n: b\n', // complex keys
      '"a": 1\n', // quoted keys
      'true: 1\n', // keys the core schema reads as booleans
      'a: [1, 2,]\n', // trailing commas
      'a: {b: 1}\n', // a flow key without a space after its colon is fine, but `{b:1}` is not; keep both out
      'a: [b: c]\n', // single-pair maps in flow lists
      'a: [\n  1]\n', // multi-line flow
      '',
      '# only a comment\n',
    ];
    for (const text of outside) {
      const fast = readFastYaml(text);
      if (fast !== undefined) assert.ok(agrees(text, JSON.stringify(text)), `took ${JSON.stringify(text)}`);
    }
    assert.equal(readFastYaml('a: &x 1\nb: *x\n'), undefined);
    assert.equal(readFastYaml('a: 1\na: 2\n'), undefined);
    assert.equal(readFastYaml('a: 1.5\n'), undefined);
  });

  test('an edit of one service re-reads that service only; moved lines are read again (positions stay right)', () => {
    const before = syntheticMesh(50);
    const edited = syntheticMesh(50, { edited: { service: 20, appPort: 9999 } });
    const items = (text: string) => {
      const root = readFastYaml(text);
      assert.ok(root?.kind === 'map');
      const services = root.pairs.find((p) => p.key?.kind === 'scalar' && p.key.value === 'services')!.value!;
      assert.ok(services.kind === 'seq');
      return services.items;
    };
    const a = items(before);
    const b = items(edited);
    assert.ok(agrees(edited, 'edited'));
    assert.equal(b.filter((item, i) => item === a[i]).length, 49, 'the 49 unchanged services are the very same trees');
    assert.notEqual(b[20], a[20]);
    // One line more at the top: every service moves down a line, so none may be reused with its old positions.
    const shifted = `# a comment\n${edited}`;
    const c = items(shifted);
    assert.ok(agrees(shifted, 'shifted'));
    assert.equal(c.filter((item, i) => item === b[i]).length, 0);
  });

  test('5,000 random mutations of valid descriptions: whatever the fast reader takes, the yaml library reads the same', () => {
    const r = prng(42);
    const alphabet = [' ', '  ', '\n', ':', ': ', '-', '- ', '#', ' #', '[', ']', '{', '}', ',', '"', "'", '&a', '*a', '!', '|', '>', '?', '\t', 'x', '1', '0', '.', 'true', '~', '\\'];
    const bases = [...examples.map((e) => e.text), randomMesh(3), randomMesh(4), syntheticMesh(5)];
    let taken = 0;
    for (let k = 0; k < 5000; k++) {
      let text = bases[k % bases.length]!;
      for (let m = 0; m < 1 + Math.floor(r() * 3); m++) {
        const at = Math.floor(r() * text.length);
        const op = r();
        const piece = alphabet[Math.floor(r() * alphabet.length)]!;
        if (op < 0.4) text = text.slice(0, at) + piece + text.slice(at);
        else if (op < 0.7) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(r() * 4));
        else text = text.slice(0, at) + piece + text.slice(at + piece.length);
      }
      if (agrees(text, `mutation ${k}`)) {
        taken++;
        // Same verdict and same problems either way (problems are always those of the yaml library's reading).
        const viaFast = checkMesh(text, 'm.yaml');
        if (!viaFast.ok) assert.ok(viaFast.problems.length > 0);
      }
    }
    assert.ok(taken > 1000, `only ${taken} mutations were taken`);
  });
});

function yamlSourceTreeValue(text: string): unknown {
  const plain = (n: unknown): unknown => {
    const node = n as { kind: string; value?: unknown; items?: unknown[]; pairs?: { key: { value: unknown }; value: unknown }[] } | null;
    if (!node) return null;
    if (node.kind === 'map') return Object.fromEntries(node.pairs!.map((p) => [String(p.key.value), plain(p.value)]));
    if (node.kind === 'seq') return node.items!.map(plain);
    return node.value;
  };
  return plain(yamlSourceTree(text).root);
}
