// The syntax tree the structural check walks: maps, lists and scalars with the position each starts at. Two
// readers produce it: fast-yaml.ts for the plain YAML a mesh description is usually written in (the happy path),
// and yamlSourceTree() here, from the `yaml` library's document, for everything else and for every description
// with a problem to report — so problems always carry the positions the `yaml` library gives.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { SourcePosition } from './model.js';

export type SourceNode = SourceMap | SourceSeq | SourceScalar | SourceOther;

/**
 * What the structural check (structure.ts) last made of a node without a problem, kept on the node itself: nodes
 * are immutable and shared by every later text holding them, so the value holds as long as the node lives, and no
 * process-wide table grows with every description read (a WeakMap of every item ever read cost a reload tens of
 * milliseconds each time it had to grow).
 */
export interface CheckedValue {
  readonly schema: unknown;
  readonly value: unknown;
}

export interface SourceMap {
  readonly kind: 'map';
  /** Set by the structural check only. */
  checked?: CheckedValue;
  readonly pairs: readonly SourcePair[];
  readonly pos: SourcePosition;
}

export interface SourcePair {
  readonly key: SourceNode | null;
  readonly value: SourceNode | null;
}

export interface SourceSeq {
  readonly kind: 'seq';
  /** Set by the structural check only. */
  checked?: CheckedValue;
  readonly items: readonly (SourceNode | null)[];
  readonly pos: SourcePosition;
  /**
   * When set (the fast reader's top-level lists), each item's tree numbers its lines from 1 at the item's first
   * line, and this is what to add to them: an item read once is shared by every later text holding it, wherever
   * it sits. Absent: positions are the file's.
   */
  readonly itemLines?: readonly number[];
}

export interface SourceScalar {
  readonly kind: 'scalar';
  /** Set by the structural check only. */
  checked?: CheckedValue;
  /** The value under YAML 1.2's core schema: string, number, boolean or null. */
  readonly value: unknown;
  readonly pos: SourcePosition;
}

/** Anything else where a value was expected (an alias used as a key). */
export interface SourceOther {
  readonly kind: 'other';
  /** Set by the structural check only. */
  checked?: CheckedValue;
  readonly pos: SourcePosition;
}

export interface SourceError {
  readonly code: 'YAML_SYNTAX' | 'DUPLICATE_KEY';
  readonly pos: SourcePosition;
  readonly message: string;
}

export type SourceRead = { readonly root: SourceNode | null; readonly errors: readonly [] } | { readonly root: undefined; readonly errors: readonly SourceError[] };

/** Reads text with the `yaml` library (YAML 1.2, core schema, duplicate keys refused). */
export function yamlSourceTree(text: string): SourceRead {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  const at = (node: YamlNode | null | undefined): SourcePosition => {
    const offset = node?.range?.[0];
    if (offset === undefined) return { line: 1, column: 1 };
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    return {
      root: undefined,
      errors: doc.errors.map((err) => {
        const { line, col } = lines.linePos(err.pos[0]);
        return { code: err.code === 'DUPLICATE_KEY' ? 'DUPLICATE_KEY' : 'YAML_SYNTAX', pos: { line, column: col }, message: firstLine(err.message) };
      }),
    };
  }
  return { root: new YamlTree(doc, at).value(doc.contents as YamlNode | null), errors: [] };
}

/** Converts lazily-shared nodes once (an alias and its anchor are one SourceNode), so aliases cannot blow up. */
class YamlTree {
  readonly #done = new Map<YamlNode, SourceNode>();
  constructor(
    private readonly doc: Document,
    private readonly at: (node: YamlNode | null | undefined) => SourcePosition,
  ) {}

  /** A value position: aliases stand for what they name. */
  value(raw: YamlNode | null | undefined): SourceNode | null {
    const node = (isAlias(raw) ? raw.resolve(this.doc) : raw) as YamlNode | null | undefined;
    if (!node) return null;
    return this.convert(node);
  }

  /** A key position: taken as written (an alias key is not a scalar). */
  key(node: YamlNode | null | undefined): SourceNode | null {
    if (!node) return null;
    if (isAlias(node)) return { kind: 'other', pos: this.at(node) };
    return this.convert(node);
  }

  convert(node: YamlNode): SourceNode {
    const hit = this.#done.get(node);
    if (hit) return hit;
    const pos = this.at(node);
    if (isMap(node)) {
      const pairs: SourcePair[] = [];
      const out: SourceMap = { kind: 'map', pairs, pos };
      this.#done.set(node, out);
      for (const p of node.items) pairs.push({ key: this.key(p.key as YamlNode | null), value: this.value(p.value as YamlNode | null) });
      return out;
    }
    if (isSeq(node)) {
      const items: (SourceNode | null)[] = [];
      const out: SourceSeq = { kind: 'seq', items, pos };
      this.#done.set(node, out);
      for (const item of node.items) items.push(this.value(item as YamlNode | null));
      return out;
    }
    const out: SourceNode = isScalar(node) ? { kind: 'scalar', value: node.value, pos } : { kind: 'other', pos };
    this.#done.set(node, out);
    return out;
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * Where each field path of a read description starts, looked up in its tree when asked: no table of every path is
 * built on the happy path; the list items on the way are remembered.
 */
export class SourceIndex {
  readonly #seen = new Map<string, SourceNode | null>();
  constructor(private readonly root: SourceNode | null | undefined) {
    if (root?.kind !== 'map') return;
    for (const p of root.pairs) {
      if (p.value?.kind !== 'seq' || !p.value.itemLines || p.key?.kind !== 'scalar') continue;
      this.#offsetLists.set(String(p.key.value), p.value.itemLines);
    }
  }
  /** Top-level lists whose items have relative positions: their item line offsets, by the list's key. */
  readonly #offsetLists = new Map<string, readonly number[]>();

  /** What to add to the line of a node found at `path` (non-zero only under an item with relative positions). */
  #lineOffset(path: string): number {
    if (this.#offsetLists.size === 0) return 0;
    const open = path.indexOf('[');
    if (open < 0) return 0;
    const lines = this.#offsetLists.get(path.slice(0, open));
    if (!lines) return 0;
    const close = path.indexOf(']', open);
    return lines[Number(path.slice(open + 1, close))] ?? 0;
  }

  /** The node at a field path such as `services[2].inbound[0].port` (a key's value, a list's item). */
  node(path: string): SourceNode | undefined {
    if (path === '') return this.root ?? undefined;
    const hit = this.#seen.get(path);
    if (hit !== undefined) return hit ?? undefined;
    const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    const parent = cut > 0 ? this.node(path.slice(0, cut)) : this.root ?? undefined;
    const last = path.slice(path[cut] === '.' ? cut + 1 : cut < 0 ? 0 : cut);
    let node: SourceNode | null | undefined;
    if (parent && last.startsWith('[') && last.endsWith(']')) {
      node = parent.kind === 'seq' ? parent.items[Number(last.slice(1, -1))] : undefined;
    } else if (parent?.kind === 'map') {
      node = parent.pairs.find((p) => p.key?.kind === 'scalar' && String(p.key.value) === last)?.value;
    }
    // List items are remembered (the resolver asks many paths under each service); keys under them are a short scan.
    if (path.endsWith(']')) this.#seen.set(path, node ?? null);
    return node ?? undefined;
  }

  get(path: string): SourcePosition | undefined {
    const pos = this.node(path)?.pos;
    const offset = pos && this.#lineOffset(path);
    return offset ? { line: pos.line + offset, column: pos.column } : pos;
  }

  /** Whether the path was written in the file (with any value, even an empty one). */
  has(path: string): boolean {
    return this.node(path) !== undefined;
  }

  /** has(`${path}.${key}`), without building the path: the map at `path` has the key with a value. */
  hasKey(path: string, key: string): boolean {
    const node = this.node(path);
    return node?.kind === 'map' && node.pairs.some((p) => p.value !== null && p.key?.kind === 'scalar' && String(p.key.value) === key);
  }
}
