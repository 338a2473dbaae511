// Helpers of the incremental-reading tests: seeded randomness, the edits made to a large description, and the
// fast reader's tree with the file's positions everywhere (to compare with the yaml library's).
import type { SourceNode } from '../../src/mesh/source-tree.js';

export { prng } from '../prng.js';

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

/**
 * An edit of the kind made to a large description: a service's lines changed, added, removed, moved, a blank or
 * comment line, a top-level key changed; sometimes something the yaml library rejects or the fast reader leaves.
 */
export function mutateServices(text: string, r: () => number): string {
  const items = text.split(/(?=^  - name: )/m);
  const head = items.shift()!;
  const pick = () => Math.floor(r() * items.length);
  const op = Math.floor(r() * 13);
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
    case 10: // what its clients read of a service: protocol or port mode
      items[i] = items[i]!.replace(/protocol: \w+/, `protocol: ${['http', 'grpc', 'tcp'][Math.floor(r() * 3)]}`);
      break;
    case 11: // its mode, or its SPIFFE ID (read by the services that admit it by name, and by its clients)
      items[i] = r() < 0.5 ? items[i]!.replace(/mode: \w+/, `mode: ${['STRICT', 'PERMISSIVE', 'DISABLE'][Math.floor(r() * 3)]}`) : items[i]!.replace(/\/sa\/([a-z0-9]+)/, (_m, d) => `/sa/${d}v${k()}`);
      break;
    case 12: // its inbound port (its clients name no port, so they follow it)
      items[i] = items[i]!.replace(/port: 15\d+, appPort/, `port: ${15000 + Math.floor(r() * 50)}, appPort`);
      break;
    default: // the last service's lines end without a newline, or an edit of its last line
      return `${head}${items.join('')}`.replace(/\n$/, r() < 0.5 ? '' : '\n      - service: s1\n');
  }
  return head + items.join('');
  function k(): number {
    return Math.floor(r() * 1e6);
  }
}
