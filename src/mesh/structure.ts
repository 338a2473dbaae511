// Structural validation: walks the syntax tree (source-tree.ts) against MESH_SCHEMA, collecting every problem with
// its exact position, and returns the plain value with formatted strings already parsed (SpiffeId, TrustDomain,
// principals). Invalid parts are left out (arrays keep their indexes, with holes), so later checks can still run
// on the rest.
import { meshCounters } from './counters.js';
import { FORMATS } from './formats.js';
import type { SourcePosition } from './model.js';
import { problem, suggestKey, type MeshProblem, type MeshProblemCode } from './problems.js';
import { MESH_SCHEMA, type ArraySchema, type ObjectSchema, type SchemaNode, type UnionSchema } from './schema.js';
import { SourceIndex, type SourceMap, type SourceNode, type SourceRead, type SourceSeq } from './source-tree.js';

export interface StructureResult {
  /** undefined when the document could not be read at all. */
  readonly value: Record<string, unknown> | undefined;
  readonly problems: MeshProblem[];
  /** Positions of field paths, for problems found later and for MeshModel.locate. */
  readonly positions: SourceIndex;
}

export function childPath(base: string, key: string | number): string {
  return typeof key === 'number' ? `${base}[${key}]` : base === '' ? key : `${base}.${key}`;
}

/** How the schema node is described in `accepted:` parts of messages. */
export function describeAccepted(s: SchemaNode): string {
  switch (s.type) {
    case 'string':
      if (s.enum) return `one of ${s.enum.join(', ')}`;
      return s.format ? FORMATS[s.format].accepted : 'a string';
    case 'boolean':
      return 'true or false';
    case 'integer':
      return `an integer from ${s.minimum} to ${s.maximum}`;
    case 'array':
      return 'a list';
    case 'object':
      return `a map with keys ${Object.keys(s.properties).join(', ')}`;
    case 'union':
      return `a map with one of the keys ${s.variants.map((v) => v.when).join(', ')}`;
  }
}

/** Values of list items, lists and formatted strings checked without a problem are kept on their (immutable, shared) tree. */
function keepChecked(node: SourceNode, checked: { readonly schema: SchemaNode; readonly value: unknown }): void {
  // Not enumerable: the tree reads (and compares) as the reader made it.
  if (Object.prototype.hasOwnProperty.call(node, 'checked')) node.checked = checked;
  else Object.defineProperty(node, 'checked', { value: checked, writable: true, enumerable: false, configurable: false });
}

/** The fast reader's top-level lists of the last check without a problem, by path, with their items' values. */
interface CheckedList {
  readonly items: readonly (SourceNode | null)[];
  readonly values: readonly unknown[];
}
let lastLists = new Map<string, CheckedList>();

class Walker {
  readonly problems: MeshProblem[] = [];
  /** The top-level lists checked this time (kept for the next check when this one has no problem). */
  readonly lists = new Map<string, CheckedList>();
  /**
   * The keys and indexes from the root to the node being checked: its field path is built from them only when a
   * problem is reported (or a top-level list is remembered), not for every node walked.
   */
  readonly #at: (string | number)[] = [];
  constructor(private readonly file: string) {}

  /** The field path of the node being checked, or of its child `extra`. */
  path(extra?: string | number): string {
    let p = '';
    for (const k of this.#at) p = childPath(p, k);
    return extra === undefined ? p : childPath(p, extra);
  }

  at(node: SourceNode | null | undefined): SourcePosition {
    return node?.pos ?? { line: 1, column: 1 };
  }

  report(code: MeshProblemCode, pos: SourcePosition, path: string, message: string, found?: string, accepted?: string): void {
    this.problems.push(problem({ code, file: this.file, line: pos.line, column: pos.column, path, message, found, accepted }));
  }

  /** The value of `node`, child `key` of the node being checked (nothing when the root). */
  child(node: SourceNode | null, schema: SchemaNode, key?: string | number): unknown {
    if (key === undefined) return this.check(node, schema, false);
    this.#at.push(key);
    const v = this.check(node, schema, typeof key === 'number');
    this.#at.pop();
    return v;
  }

  /**
   * A list item (each service, each port...) already checked without a problem is not checked again: the fast
   * reader hands back the same tree for unchanged lines, and its value does not depend on where it sits.
   */
  check(node: SourceNode | null, schema: SchemaNode, item: boolean): unknown {
    if (node === null || node.kind !== 'map' || !item) return this.#check(node, schema);
    const hit = node!.checked;
    if (hit?.schema === schema) return hit.value;
    const before = this.problems.length;
    meshCounters.itemsChecked++;
    const value = this.#check(node, schema);
    if (this.problems.length === before) keepChecked(node!, { schema, value });
    return value;
  }

  #check(node: SourceNode | null, schema: SchemaNode): unknown {
    switch (schema.type) {
      case 'object':
        return node?.kind === 'map' ? this.object(node, schema) : this.wrongType(node, schema);
      case 'union':
        return node?.kind === 'map' ? this.union(node, schema) : this.wrongType(node, schema);
      case 'array': {
        if (node?.kind !== 'seq') return this.wrongType(node, schema);
        if (schema.minItems !== undefined && node.items.length < schema.minItems) {
          this.report('EMPTY_LIST', this.at(node), this.path(), 'empty list', undefined, `at least ${schema.minItems} item`);
          return undefined;
        }
        // A list inside an item whose tree the fast reader shared with an earlier read (an unchanged port list,
        // caller list...) has the value it had then: the same array, so the resolver can tell it is unchanged.
        if (!node.itemLines) {
          const hit = node!.checked;
          if (hit?.schema === schema) return hit.value;
          const before = this.problems.length;
          const values = this.items(node, schema, undefined);
          if (this.problems.length === before) keepChecked(node!, { schema, value: values });
          return values;
        }
        return this.items(node, schema, this.path());
      }
      case 'boolean': {
        const v = node?.kind === 'scalar' ? node.value : undefined;
        return typeof v === 'boolean' ? v : this.wrongType(node, schema);
      }
      case 'integer': {
        const v = node?.kind === 'scalar' ? node.value : undefined;
        if (typeof v !== 'number' || !Number.isInteger(v)) return this.wrongType(node, schema);
        if (v < schema.minimum || v > schema.maximum) {
          this.report('OUT_OF_RANGE', this.at(node), this.path(), 'out of range', String(v), describeAccepted(schema));
          return undefined;
        }
        return v;
      }
      case 'string': {
        const v = node?.kind === 'scalar' ? node.value : undefined;
        if (typeof v !== 'string') return this.wrongType(node, schema);
        if (schema.enum && !schema.enum.includes(v)) {
          const hint = suggestKey(v, schema.enum);
          const message = hint ? `invalid value, did you mean "${hint}"?` : 'invalid value';
          this.report('INVALID_ENUM', this.at(node), this.path(), message, JSON.stringify(v), describeAccepted(schema));
          return undefined;
        }
        if (schema.format) {
          // A formatted string parsed into an object (a SPIFFE ID, a principal...) before, from the same shared
          // node, is not parsed again: the value is immutable and depends on the text alone.
          const hit = node!.checked;
          if (hit?.schema === schema) return hit.value;
          const format = FORMATS[schema.format];
          const r = format.parse(v);
          if ('reason' in r) {
            this.report(format.code, this.at(node), this.path(), `not a valid ${format.what}: ${r.reason}`, JSON.stringify(v), format.accepted);
            return undefined;
          }
          if (typeof r.value === 'object') keepChecked(node!, { schema, value: r.value });
          return r.value;
        }
        return v;
      }
    }
  }

  /** The values of a list's items; `path`: the list's, when it is a top-level list of the fast reader. */
  private items(node: SourceSeq, schema: ArraySchema, path: string | undefined): unknown[] {
    // Items checked before are taken without building their path: an edit of one service checks that one.
    // A top-level list of the fast reader is compared with the last one checked, item by item, first.
    const last = path !== undefined ? lastLists.get(path) : undefined;
    const shift = last ? node.items.length - last.items.length : 0;
    const n = node.items.length;
    const values = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const item = node.items[i]!;
      if (last && item !== null) {
        if (last.items[i] === item) {
          values[i] = last.values[i];
          continue;
        }
        if (last.items[i - shift] === item) {
          values[i] = last.values[i - shift];
          continue;
        }
      }
      const hit = item?.kind === 'map' ? item.checked : undefined;
      values[i] = hit?.schema === schema.items ? hit.value : this.child(item, schema.items, i);
    }
    if (path !== undefined) this.lists.set(path, { items: node.items, values });
    return values;
  }

  private wrongType(node: SourceNode | null, schema: SchemaNode): undefined {
    this.report('WRONG_TYPE', this.at(node), this.path(), 'wrong type', describeFound(node), describeAccepted(schema));
    return undefined;
  }

  /** `kind`: the union variant the map was taken as, written first in the value. */
  private object(node: SourceMap, schema: ObjectSchema, kind?: string): Record<string, unknown> {
    const out: Record<string, unknown> = kind === undefined ? {} : { kind };
    for (const pair of node.pairs) {
      const keyNode = pair.key;
      const key = keyNode?.kind === 'scalar' ? String(keyNode.value) : describeFound(keyNode);
      // (A miss is looked up as before, inherited names included, so that no answer changes.)
      const sub = propertiesOf(schema).get(key) ?? (schema.properties[key] as SchemaNode | undefined);
      if (sub === undefined) {
        const accepted = Object.keys(schema.properties);
        const near = suggestKey(key, accepted);
        const message = near ? `unknown key "${key}", did you mean "${near}"?` : `unknown key "${key}"`;
        this.report('UNKNOWN_KEY', this.at(keyNode), this.path(key), message, undefined, accepted.join(', '));
        continue;
      }
      const v = this.child(pair.value, sub, key);
      if (v !== undefined) out[key] = v;
    }
    if (schema.required) {
      for (const key of schema.required) {
        if (!keyNodeOf(node, key)) {
          const sub = schema.properties[key]!;
          this.report('MISSING_FIELD', this.at(node), this.path(key), `missing required field "${key}"`, undefined, describeAccepted(sub));
        }
      }
    }
    for (const group of schema.exactlyOne ?? []) {
      const set = group.filter((k) => keyNodeOf(node, k));
      const names = group.map((k) => `"${k}"`).join(', ');
      if (set.length === 0) {
        this.report('MISSING_FIELD', this.at(node), this.path(), `missing one of ${names}`, undefined, `exactly one of ${names}`);
      } else if (set.length > 1) {
        const second = set[1]!;
        this.report('CONFLICTING_FIELDS', this.at(keyNodeOf(node, second)), this.path(second), `${set.map((k) => `"${k}"`).join(' and ')} exclude each other`, undefined, `exactly one of ${names}`);
      }
    }
    return out;
  }

  private union(node: SourceMap, schema: UnionSchema): unknown {
    let match: UnionSchema['variants'][number] | undefined;
    let count = 0;
    for (const v of schema.variants) {
      if (node.pairs.some((p) => p.key?.kind === 'scalar' && String(p.key.value) === v.when)) {
        match ??= v;
        count++;
      }
    }
    if (count === 1) return this.object(node, match!.schema, match!.when);
    const matches = schema.variants.filter((v) => node.pairs.some((p) => p.key?.kind === 'scalar' && String(p.key.value) === v.when));
    const names = schema.variants.map((v) => `"${v.when}"`).join(', ');
    if (matches.length === 0) {
      this.report('MISSING_FIELD', this.at(node), this.path(), `missing one of ${names}`, undefined, describeAccepted(schema));
    } else {
      const second = node.pairs.find((p) => p.key?.kind === 'scalar' && p.key.value === matches[1]!.when)?.key;
      this.report('CONFLICTING_FIELDS', this.at(second), this.path(matches[1]!.when), `${matches.map((m) => `"${m.when}"`).join(' and ')} exclude each other`, undefined, `exactly one of ${names}`);
    }
    return undefined;
  }
}

/** An object schema's properties as a Map: looked up once per key of every checked map (a fast string lookup). */
const propertyMaps = new WeakMap<ObjectSchema, ReadonlyMap<string, SchemaNode>>();
function propertiesOf(schema: ObjectSchema): ReadonlyMap<string, SchemaNode> {
  let m = propertyMaps.get(schema);
  if (!m) propertyMaps.set(schema, (m = new Map(Object.entries(schema.properties))));
  return m;
}

/**
 * The key node of `key` in a map as the check counts keys present (the first pair whose key reads as `key`; a key
 * that is not a scalar reads as its description, like "a map").
 */
function keyNodeOf(node: SourceMap, key: string): SourceNode | undefined {
  for (const p of node.pairs) {
    const k = p.key;
    if ((k?.kind === 'scalar' ? String(k.value) : describeFound(k)) === key) return k ?? undefined;
  }
  return undefined;
}

function describeFound(node: SourceNode | null | undefined): string {
  if (node?.kind === 'map') return 'a map';
  if (node?.kind === 'seq') return 'a list';
  const v = node?.kind === 'scalar' ? node.value : null;
  if (v === null || v === undefined) return 'an empty value';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

/** Checks a read description against the schema; never throws. */
export function checkStructure(read: SourceRead, file: string): StructureResult {
  const walker = new Walker(file);
  if (read.root === undefined) {
    for (const err of read.errors) walker.report(err.code, err.pos, '', err.message);
    return { value: undefined, problems: walker.problems, positions: new SourceIndex(undefined) };
  }
  const root = read.root;
  if (root === null || (root.kind === 'scalar' && root.value === null)) {
    walker.report('WRONG_TYPE', { line: 1, column: 1 }, '', 'the file holds no mesh description', 'an empty document', describeAccepted(MESH_SCHEMA));
    return { value: undefined, problems: walker.problems, positions: new SourceIndex(undefined) };
  }
  const value = walker.child(root, MESH_SCHEMA) as Record<string, unknown> | undefined;
  if (walker.problems.length === 0) lastLists = walker.lists;
  return { value, problems: walker.problems, positions: new SourceIndex(root) };
}
