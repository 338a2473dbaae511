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
import type { SourceNode } from '../../src/mesh/source-tree.js';
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

/** The tree with the file's positions everywhere: items of lists with `itemLines` moved to where they sit. */
export function absolute(node: SourceNode | null, offset = 0): SourceNode | null {
  if (node === null) return null;
  const pos = { line: node.pos.line + offset, column: node.pos.column };
  switch (node.kind) {
    case 'map':
      return { kind: 'map', pairs: node.pairs.map((p) => ({ key: absolute(p.key, offset), value: absolute(p.value, offset) })), pos };
    case 'seq':
      return { kind: 'seq', items: node.items.map((item, i) => absolute(item, offset + (node.itemLines?.[i] ?? 0))), pos };
    default:
      return { ...node, pos };
  }
}

/** Asserts the fast reader agrees with the `yaml` library; returns whether it took the text. */
function agrees(text: string, where: string): boolean {
  const fast = readFastYaml(text);
  if (fast === undefined) return false;
  const slow = yamlSourceTree(text);
  assert.deepEqual(slow.errors, [], `${where}: the fast reader took text the yaml library rejects:\n${text}`);
  assert.deepEqual(absolute(fast), slow.root, `${where}: trees differ`);
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

  test('an edit of one service re-reads that service only; moved services are shared, at their new lines', () => {
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
    const read = meshCounters.itemsRead;
    const b = items(edited);
    assert.equal(meshCounters.itemsRead - read, 1, 'one item tokenised');
    assert.ok(agrees(edited, 'edited'));
    assert.equal(b.filter((item, i) => item === a[i]).length, 49, 'the 49 unchanged services are the very same trees');
    assert.notEqual(b[20], a[20]);
    // One line more at the top: a top-level change, so every line is scanned; but every service is the same text
    // as before, so each is the same tree, moved down a line (the list's itemLines say where).
    const shifted = `# a comment\n${edited}`;
    const full = meshCounters.fullReads;
    const c = items(shifted);
    assert.equal(meshCounters.fullReads - full, 1);
    assert.ok(agrees(shifted, 'shifted'));
    assert.equal(c.filter((item, i) => item === b[i]).length, 50);
    // A line more inside service 3: services 4..49 move down a line, are not read again, and sit right.
    const grown = shifted.replace('  - name: s3\n', '  - name: s3\n    address: s3.internal\n');
    const read2 = meshCounters.itemsRead;
    const delta = meshCounters.deltaReads;
    const d = items(grown);
    assert.equal(meshCounters.deltaReads - delta, 1);
    assert.equal(meshCounters.itemsRead - read2, 1);
    assert.ok(agrees(grown, 'grown'));
    assert.equal(d.filter((item, i) => item === c[i]).length, 49);
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

/**
 * An edit of the kind made to a large description: a service's lines changed, added, removed, moved, a blank or
 * comment line, a top-level key changed; sometimes something the yaml library rejects or the fast reader leaves.
 */
export function mutateServices(text: string, r: () => number): string {
  const items = text.split(/(?=^  - name: )/m);
  const head = items.shift()!;
  const pick = () => Math.floor(r() * items.length);
  const op = Math.floor(r() * 10);
  const i = pick();
  switch (op) {
    case 0: // edit a value inside a service
      items[i] = items[i]!.replace(/appPort: \d+/, `appPort: ${8000 + Math.floor(r() * 1000)}`);
      break;
    case 1: // add a line to a service
      items[i] = items[i]!.replace(/\n/, `\n    address: a${Math.floor(r() * 100)}.internal\n`);
      break;
    case 2: // remove a service
      items.splice(i, 1);
      break;
    case 3: // add a service (a copy under a new name and ID)
      items.splice(i, 0, items[pick()]!.replace(/name: s(\d+)/, (_m, d) => `name: n${d}x${k()}`).replace(/\/sa\/s(\d+)/, (_m, d) => `/sa/n${d}x${k()}`));
      break;
    case 4: { // move a service
      const [moved] = items.splice(i, 1);
      items.splice(pick(), 0, moved!);
      break;
    }
    case 5: // a comment or blank line between or inside services
      items[i] = r() < 0.5 ? `${items[i]}\n# note ${k()}\n` : items[i]!.replace(/\n/, '\n\n');
      break;
    case 6: // a top-level key
      return r() < 0.5 ? `defaultMode: ${r() < 0.5 ? 'STRICT' : 'DISABLE'}\n${head}${items.join('')}` : `${head}${items.join('')}accessLogs: false\n`;
    case 7: // a problem: a reference to nowhere
      items[i] = items[i]!.replace(/service: s\d+,/, 'service: nowhere,');
      break;
    case 8: // a syntax the fast reader leaves to the yaml library, or one that is wrong
      items[i] = items[i]!.replace(/mode: (\w+)/, r() < 0.5 ? "mode: '$1'" : 'mode: [');
      break;
    default: // the last service's lines end without a newline, or an edit of its last line
      return `${head}${items.join('')}`.replace(/\n$/, r() < 0.5 ? '' : '\n      - service: s1\n');
  }
  return head + items.join('');
  function k(): number {
    return Math.floor(r() * 1e6);
  }
}

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
