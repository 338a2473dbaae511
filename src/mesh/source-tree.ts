// The syntax tree the structural check walks: maps, lists and scalars with the position each starts at. Two
// readers produce it: fast-yaml.ts for the plain YAML a mesh description is usually written in (the happy path),
// and yamlSourceTree() here, from the `yaml` library's document, for everything else and for every description
// with a problem to report — so problems always carry the positions the `yaml` library gives.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { SourcePosition } from './model.js';

export type SourceNode = SourceMap | SourceSeq | SourceScalar | SourceOther;

export interface SourceMap {
  readonly kind: 'map';
  readonly pairs: readonly SourcePair[];
  readonly pos: SourcePosition;
}

export interface SourcePair {
  readonly key: SourceNode | null;
  readonly value: SourceNode | null;
}

export interface SourceSeq {
  readonly kind: 'seq';
  readonly items: readonly (SourceNode | null)[];
  readonly pos: SourcePosition;
}

export interface SourceScalar {
  readonly kind: 'scalar';
  /** The value under YAML 1.2's core schema: string, number, boolean or null. */
  readonly value: unknown;
  readonly pos: SourcePosition;
}

/** Anything else where a value was expected (an alias used as a key). */
export interface SourceOther {
  readonly kind: 'other';
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

/** Where each field path of a read description starts, looked up in its tree when asked (no table is built). */
export class SourceIndex {
  constructor(private readonly root: SourceNode | null | undefined) {}

  /** The node at a field path such as `services[2].inbound[0].port` (a key's value, a list's item). */
  node(path: string): SourceNode | undefined {
    let node: SourceNode | null | undefined = this.root;
    if (path === '') return node ?? undefined;
    for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
      if (!node) return undefined;
      if (m[2] !== undefined) {
        node = node.kind === 'seq' ? node.items[Number(m[2])] : undefined;
      } else {
        if (node.kind !== 'map') return undefined;
        const key = m[1]!;
        node = node.pairs.find((p) => p.key?.kind === 'scalar' && String(p.key.value) === key)?.value;
      }
    }
    return node ?? undefined;
  }

  get(path: string): SourcePosition | undefined {
    return this.node(path)?.pos;
  }

  /** Whether the path was written in the file (with any value, even an empty one). */
  has(path: string): boolean {
    return this.node(path) !== undefined;
  }
}
