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
import { meshCounters } from '../../src/mesh/counters.js';
import { yamlSourceTree, type SourceMap, type SourceNode } from '../../src/mesh/source-tree.js';
import { checkMesh } from '../../src/mesh/parse.js';
import { syntheticMesh } from '../../bench/synthetic-mesh.js';
import { randomMesh } from '../envoy/fixtures/random-mesh.js';
import { BAD_CASES } from './bad-inputs.js';
import { absolute, mutateServices, prng } from './edits.js';

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
  assert.deepEqual(absolute(fast), slow.root, `${where}: trees differ`);
  return true;
}

/** The trees of the `services:` list items, as the fast reader hands them back. */
function serviceItems(text: string): readonly (SourceNode | null)[] {
  const root = readFastYaml(text);
  assert.ok(root?.kind === 'map');
  const services = root.pairs.find((p) => p.key?.kind === 'scalar' && p.key.value === 'services')!.value!;
  assert.ok(services.kind === 'seq');
  return services.items;
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

  test('an edit of one service re-reads that service only; moved services are shared, at their new lines', () => {
    const before = syntheticMesh(50);
    const edited = syntheticMesh(50, { edited: { service: 20, appPort: 9999 } });
    const a = serviceItems(before);
    const read = meshCounters.itemsRead;
    const patched = meshCounters.itemsPatched;
    const b = serviceItems(edited);
    assert.equal(meshCounters.itemsRead - read, 0, 'no item tokenised whole');
    assert.equal(meshCounters.itemsPatched - patched, 1, 'one value of one item read again');
    assert.ok(agrees(edited, 'edited'));
    assert.equal(b.filter((item, i) => item === a[i]).length, 49, 'the 49 unchanged services are the very same trees');
    assert.notEqual(b[20], a[20]);
    // One line more at the top: a top-level change, so every line is scanned; but every service is the same text
    // as before, so each is the same tree, moved down a line (the list's itemLines say where).
    const shifted = `# a comment\n${edited}`;
    const full = meshCounters.fullReads;
    const c = serviceItems(shifted);
    assert.equal(meshCounters.fullReads - full, 1);
    assert.ok(agrees(shifted, 'shifted'));
    assert.equal(c.filter((item, i) => item === b[i]).length, 50);
    // A line more inside service 3: services 4..49 move down a line, are not read again, and sit right.
    const grown = shifted.replace('  - name: s3\n', '  - name: s3\n    address: s3.internal\n');
    const read2 = meshCounters.itemsRead;
    const delta = meshCounters.deltaReads;
    const d = serviceItems(grown);
    assert.equal(meshCounters.deltaReads - delta, 1);
    assert.equal(meshCounters.itemsRead - read2, 1);
    assert.ok(agrees(grown, 'grown'));
    assert.equal(d.filter((item, i) => item === c[i]).length, 49);
  });

  test('a value changed on one line of every service: that value is read, the rest of each old tree shared', () => {
    const before = syntheticMesh(60);
    const after = syntheticMesh(60, { appPort: 7000 });
    const a = serviceItems(before);
    const c = { ...meshCounters };
    const b = serviceItems(after);
    assert.equal(meshCounters.itemsPatched - c.itemsPatched, 60);
    assert.equal(meshCounters.itemsRead - c.itemsRead, 0);
    assert.ok(agrees(after, 'every appPort'));
    // Only the service map and its inbound list and port are new; names, outbound and callers are the old nodes.
    const field = (item: SourceNode | null, key: string) => (item as SourceMap).pairs.find((p) => p.key?.kind === 'scalar' && p.key.value === key)!.value;
    for (let i = 0; i < 60; i++) {
      assert.notEqual(b[i], a[i]);
      assert.equal(field(b[i]!, 'outbound'), field(a[i]!, 'outbound'));
      assert.equal(field(b[i]!, 'name'), field(a[i]!, 'name'));
      assert.notEqual(field(b[i]!, 'inbound'), field(a[i]!, 'inbound'));
    }
  });

  test('one-line changes of every kind inside services (values, keys, dashes, comments, flow collections): the read equals the yaml library\'s', () => {
    const r = prng(19);
    const pieces = ['9', 'x', ' ', '', ':', ': ', '#', ' # c', '- ', '{', '}', '[', ']', ',', '"', "'", 'a: b', '~', 'true', '\t', '-1', '0x1'];
    let text = syntheticMesh(40);
    let patched = 0;
    for (let k = 0; k < 3000; k++) {
      // A position on a line of a service (past the header), replaced or grown by a piece; one line only.
      const lines = text.split('\n');
      const li = 2 + Math.floor(r() * (lines.length - 3));
      const line = lines[li]!;
      const at = Math.floor(r() * (line.length + 1));
      const piece = pieces[Math.floor(r() * pieces.length)]!;
      lines[li] = r() < 0.5 ? line.slice(0, at) + piece + line.slice(at) : line.slice(0, at) + piece + line.slice(at + 1 + Math.floor(r() * 3));
      const next = lines.join('\n');
      const before = meshCounters.itemsPatched;
      const taken = agrees(next, `one-line change ${k}:\n${lines[li]}`);
      if (meshCounters.itemsPatched > before) patched++;
      // Keep going from the changed text when the fast reader took it, else from a fresh description.
      text = taken && r() < 0.8 ? next : syntheticMesh(40, { appPort: 8000 + k });
    }
    assert.ok(patched > 500, `only ${patched} reads were patched`);
  });

  test('random edit pairs of large descriptions: the read of the second (patched from the first) equals the yaml library\'s', () => {
    const r = prng(7);
    const base = syntheticMesh(120);
    for (let k = 0; k < 150; k++) {
      const first = mutateServices(base, r);
      const second = mutateServices(first, r);
      agrees(first, `pair ${k}, first`);
      agrees(second, `pair ${k}, second:\n${second}`);
    }
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
