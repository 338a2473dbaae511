// A reader for the plain subset of YAML that mesh descriptions are written in: block maps and lists, one-line
// flow maps and lists, plain and quoted one-line scalars, comments. It returns the same tree the `yaml` library's
// document gives (source-tree.ts) — values under YAML 1.2's core schema, positions where each node starts (in the
// items of top-level lists, relative to the item: see SourceSeq.itemLines) — or
// undefined for anything outside the subset (anchors, aliases, tags, block scalars, multi-line scalars, escapes,
// numbers other than plain integers, duplicate keys, tabs, documents markers...), and the caller then reads the
// text with the `yaml` library. It never decides that text is invalid: only the `yaml` library reports problems.
//
// Why: the `yaml` library reads ~1 MB/s on this project's machines (a 10,000-service description, 4 MB, took
// ~5 s of CPU and 20-30 s under load); this reader is linear and allocation-light. test/mesh/fast-yaml.test.ts
// holds its output to the `yaml` library's for every example, fixture and randomized description.
import { meshCounters } from './counters.js';
import type { SourceMap, SourceNode, SourcePair, SourceSeq } from './source-tree.js';

/** Thrown inside the reader when the text leaves the subset; never escapes readFastYaml. */
class NotInSubset extends Error {}
const bail = (): never => {
  throw new NotInSubset();
};

interface Line {
  /** 1-based line number (within the text read: the whole description, or one list item's slice of it). */
  readonly no: number;
  readonly indent: number;
  /** The line without its indentation (trailing comments still in it). */
  readonly text: string;
  /** Offset of the line's first character (its indentation) in the text read. */
  readonly start: number;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** Keys the core schema would read as null or a boolean. */
const NOT_STRING_KEYS = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);
/** Core-schema scalars that are not strings and not the plain integers this reader takes itself. */
const OTHER_NON_STRING = [
  /^[-+]?[0-9]+$/, // integers with a sign or leading zeros (plain ones are handled before)
  /^0o[0-7]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
];
const PLAIN_INT = /^-?(?:0|[1-9][0-9]{0,14})$/;
/** Characters a plain scalar may not start with (YAML indicators); '-' is checked apart. */
const INDICATOR_START = new Set(['?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', "'", '"', '%', '@', '`']);


/**
 * A list that is the value of a top-level key (`services:`, `federation:`) whose items are all `- key: ...` maps:
 * where each item's text starts (offsets into the text, line numbers), and its tree. Item trees carry line numbers
 * relative to the item (its first line is line 1); the list node's itemLines say where each one sits.
 */
interface ItemList {
  /** Indentation of the items' dashes. */
  readonly indent: number;
  /** Index of the list's pair in the root map. */
  readonly pair: number;
  /** Offset of each item's first line; one more entry: where the list ends (the next top-level line, or the end). */
  readonly starts: readonly number[];
  /** Line number of each item's first line, minus one (added to the item tree's relative lines). */
  readonly lines: readonly number[];
  readonly nodes: readonly SourceNode[];
  /** Line number of the line the list ends at (one past the last line when it runs to the end). */
  readonly endLine: number;
}

/** What the last read left behind: its text, tree and item lists, so the next read re-reads only what changed. */
interface LastRead {
  readonly text: string;
  readonly root: SourceNode;
  readonly lists: readonly ItemList[];
}

let last: LastRead | undefined;

/**
 * The tree of `text`, or undefined when the text is outside the subset (read it with the `yaml` library).
 *
 * Items of top-level lists (each service) are read once and shared by every later read whose item has the same
 * text, wherever it sits: their trees carry positions relative to the item, and the list node's `itemLines` say
 * where each item starts (SourceIndex adds it). When the text differs from the last one read only inside one such
 * list, only the lines between the first and last changed character are scanned; the rest is not looked at again.
 */
export function readFastYaml(text: string): SourceNode | undefined {
  try {
    const delta = last && readDelta(last, text);
    if (delta) {
      meshCounters.deltaReads++;
      last = delta;
      return delta.root;
    }
    const full = readFull(text, last);
    meshCounters.fullReads++;
    last = full;
    return full.root;
  } catch (e) {
    if (e instanceof NotInSubset) return undefined;
    throw e;
  }
}

function splitLines(text: string): Line[] {
  return split(text).lines;
}

/** The content lines of a text (blank and comment lines left out), and the number a line after its end would have. */
function split(text: string): { lines: Line[]; endLine: number } {
  if (text.charCodeAt(0) === 0xfeff) bail();
  const out: Line[] = [];
  let no = 1;
  for (let start = 0; start < text.length; no++) {
    const nl = text.indexOf('\n', start);
    let s = text.slice(start, nl < 0 ? text.length : nl);
    if (s.endsWith('\r')) s = s.slice(0, -1);
    if (s.includes('\t') || s.includes('\r')) bail();
    let indent = 0;
    while (indent < s.length && s.charCodeAt(indent) === 32) indent++;
    const content = indent === 0 ? s : s.slice(indent);
    if (content !== '' && content.charCodeAt(0) !== 35 /* # */) {
      if (indent === 0 && (content.startsWith('---') || content.startsWith('...') || content.startsWith('%'))) bail();
      out.push({ no, indent, text: content, start });
    }
    if (nl < 0) {
      no++;
      break;
    }
    start = nl + 1;
  }
  return { lines: out, endLine: no };
}

/** Every line, every item: items whose text was in the last read are taken from it (by text, not position). */
function readFull(text: string, prev: LastRead | undefined): LastRead {
  const { lines, endLine } = split(text);
  if (lines.length === 0) bail();
  const reader = new BlockReader(lines, text, prev ? itemsByText(prev) : new Map(), endLine);
  const root = reader.block(0, true);
  if (reader.i !== lines.length) bail();
  return { text, root, lists: reader.lists };
}

/** The item trees of a read, by their text. */
function itemsByText(r: LastRead): Map<string, SourceNode> {
  const out = new Map<string, SourceNode>();
  for (const l of r.lists) for (let k = 0; k < l.nodes.length; k++) out.set(r.text.slice(l.starts[k], l.starts[k + 1]), l.nodes[k]!);
  return out;
}

/** One list item's tree from its own lines, with line numbers relative to its first line. */
function readItem(lines: readonly Line[], column: number, rest: string): SourceNode {
  const reader = new BlockReader(lines, '', new Map(), 0);
  const node = reader.map(column, rest, column);
  if (reader.i !== lines.length) bail();
  meshCounters.itemsRead++;
  return node;
}

/** The first line of an item: `- key...` at the list's indentation, and what follows the dash. */
function itemHead(line: Line): { rest: string; column: number } {
  const rest = line.text.slice(1).replace(/^ +/, '');
  return { rest, column: line.indent + line.text.length - rest.length };
}

/** Length of the common prefix of two strings (compared in chunks; the engine compares each chunk natively). */
function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  if (n < 1024) {
    while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
    return i;
  }
  for (let chunk = 4096; i < n; ) {
    const len = Math.min(chunk, n - i);
    if (a.substr(i, len) === b.substr(i, len)) i += len;
    else if (len <= 16) {
      while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
      return i;
    } else chunk = len >> 2;
  }
  return i;
}

/** Length of the common suffix of two strings, at most `max`. */
function commonSuffix(a: string, b: string, max: number): number {
  let i = 0;
  if (max < 1024) {
    while (i < max && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++;
    return i;
  }
  for (let chunk = 4096; i < max; ) {
    const len = Math.min(chunk, max - i);
    if (a.substr(a.length - i - len, len) === b.substr(b.length - i - len, len)) i += len;
    else if (len <= 16) {
      while (i < max && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++;
      return i;
    } else chunk = len >> 2;
  }
  return i;
}

/**
 * The read of `text` when it differs from the last read only inside one item list: the items before the first
 * changed character and after the last one are the last read's (moved by the difference in length), the lines in
 * between are scanned for item boundaries, and only items whose text is new are read. Undefined when the change
 * reaches anything else (a top-level key, the list's first dash, line numbers of what follows the list); then the
 * whole text is read.
 */
function readDelta(prev: LastRead, text: string): LastRead | undefined {
  const old = prev.text;
  if (old === text) return prev;
  const p = commonPrefix(old, text);
  const s = commonSuffix(old, text, Math.min(old.length, text.length) - p);
  const li = prev.lists.findIndex((l) => l.starts[0]! + l.indent + 2 <= p && p <= l.starts.at(-1)!);
  if (li < 0) return undefined;
  const list = prev.lists[li]!;
  const n = list.nodes.length;
  const shift = text.length - old.length;
  // Rescan from the item before the one the first change is in: that one's end may have moved.
  const a = Math.max(0, upperBound(list.starts, p) - 2);
  const found: number[] = [];
  const foundLines: number[] = [];
  let x = list.starts[a]!;
  let line = list.lines[a]! + 1;
  let j = a + 1;
  let synced = -1;
  while (synced < 0) {
    if (x === text.length) {
      // The end of the text: where the list ended before only if it ran to the end then too.
      if (list.starts[n] !== old.length) return undefined;
      synced = n;
      break;
    }
    const nl = text.indexOf('\n', x);
    const end = nl < 0 ? text.length : nl;
    let indent = 0;
    while (x + indent < end && text.charCodeAt(x + indent) === 32) indent++;
    const c = x + indent < end ? text.charCodeAt(x + indent) : -1;
    const blank = c === -1 || c === 35 /* # */ || (c === 13 /* \r */ && x + indent + 1 === end);
    if (!blank && indent <= list.indent) {
      // A boundary. In the unchanged tail, at an old boundary: everything from here on is as it was.
      while (j <= n && list.starts[j]! + shift < x) j++;
      if (j <= n && list.starts[j]! + shift === x && x >= text.length - s) {
        synced = j;
        break;
      }
      const dash = indent === list.indent && c === 45 /* - */ && (x + indent + 1 === end || text.charCodeAt(x + indent + 1) === 32);
      if (!dash) return undefined; // the list ends somewhere new
      found.push(x);
      foundLines.push(line - 1);
    }
    x = nl < 0 ? text.length : nl + 1;
    line++;
  }
  // Line numbers after the change move by this much; what follows the list would need reading again then.
  const lineShift = line - (synced < n ? list.lines[synced]! + 1 : list.endLine);
  if (lineShift !== 0 && list.starts[n]! < old.length) return undefined;
  // Old items of the rescanned range, by text (built when first asked): one moved or left as it was inside the
  // range is not read again.
  let rescanned: Map<string, SourceNode> | undefined;
  const byText = (slice: string): SourceNode | undefined => {
    if (!rescanned) {
      rescanned = new Map();
      for (let k = a; k < synced; k++) rescanned.set(old.slice(list.starts[k], list.starts[k + 1]), list.nodes[k]!);
    }
    return rescanned.get(slice);
  };
  // As many items as before in the range: each is first compared with the old item at its place, and when the two
  // differ in one value on one line, that value is read and the rest of the old tree shared (patchItem).
  const inPlace = found.length === synced - a;
  const nodes = list.nodes.slice(0, a);
  const starts = list.starts.slice(0, a);
  const lines = list.lines.slice(0, a);
  let reused = a + (n - synced);
  const syncAt = list.starts[synced]! + shift;
  for (let k = 0; k < found.length; k++) {
    const slice = text.slice(found[k], k + 1 < found.length ? found[k + 1] : syncAt);
    const oldSlice = inPlace ? old.slice(list.starts[a + k], list.starts[a + k + 1]) : undefined;
    let node = oldSlice === slice ? list.nodes[a + k] : undefined;
    if (node) reused++;
    else if (oldSlice !== undefined && (node = patchItem(oldSlice, list.nodes[a + k]!, slice))) meshCounters.itemsPatched++;
    else if ((node = byText(slice))) reused++;
    else {
      const il = splitLines(slice);
      const { rest, column } = itemHead(il[0]!);
      if (rest === '' || rest.startsWith('#') || isDash(rest) || !startsKey(rest)) return undefined;
      node = readItem(il, column, rest);
    }
    nodes.push(node);
    starts.push(found[k]!);
    lines.push(foundLines[k]!);
  }
  // The unchanged tail: copied whole (native copies) when nothing moved, else moved by the shifts.
  const tailNodes = list.nodes.slice(synced);
  let tailStarts = list.starts.slice(synced);
  let tailLines = list.lines.slice(synced);
  if (shift !== 0) tailStarts = tailStarts.map((x) => x + shift);
  if (lineShift !== 0) tailLines = tailLines.map((x) => x + lineShift);
  if (nodes.length + tailNodes.length === 0) return undefined;
  const allNodes = nodes.concat(tailNodes);
  const allStarts = starts.concat(tailStarts);
  const allLines = lines.concat(tailLines);
  meshCounters.itemsReused += reused;
  const root = prev.root as SourceMap;
  const pair = root.pairs[list.pair]!;
  const seq: SourceSeq = { kind: 'seq', items: allNodes, pos: (pair.value as SourceSeq).pos, itemLines: allLines };
  const pairs = root.pairs.slice();
  pairs[list.pair] = { key: pair.key, value: seq };
  const lists = prev.lists.slice();
  lists[li] = { indent: list.indent, pair: list.pair, starts: allStarts, lines: allLines, nodes: allNodes, endLine: list.endLine + lineShift };
  return { text, root: { kind: 'map', pairs, pos: root.pos }, lists };
}

/** Index of the first element greater than x in a sorted array. */
function upperBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The tree of an item whose text differs from an old item's in one value on one line (a scalar, or a flow
 * collection, after `key: ` or `- `): that value is read again and the old tree is copied along the path to it, every
 * other node shared. This is what a reload that changes a port or an image of every service costs per service.
 * Undefined when the change is anything else (the item is then read whole); the result is the tree a full read of
 * `text` gives, since every other line, and the part of the changed line before the value, are the same text.
 */
function patchItem(oldText: string, oldNode: SourceNode, text: string): SourceNode | undefined {
  const p = commonPrefix(oldText, text);
  const s = commonSuffix(oldText, text, Math.min(oldText.length, text.length) - p);
  // The changed spans, old and new, stay inside one line, with nothing the line splitter refuses.
  for (let i = p; i < oldText.length - s; i++) if (oldText.charCodeAt(i) === 10) return undefined;
  for (let i = p; i < text.length - s; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13 || c === 9) return undefined;
  }
  const lineStart = text.lastIndexOf('\n', p - 1) + 1;
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < lineStart; i = text.indexOf('\n', i + 1)) line++;
  const at = valueOnLine(oldNode, line, oldText, lineStart);
  if (!at) return undefined;
  const column = at.value.pos.column - 1;
  if (lineStart + column > p) return undefined; // the change reaches the key or the dash before the value
  const nl = text.indexOf('\n', lineStart);
  const rest = text.slice(lineStart + column, nl < 0 ? text.length : nl);
  if (rest.endsWith('\r')) return undefined;
  // What the block reader requires of the value (else it reads the line as something else than a value).
  if (rest === '' || rest.charCodeAt(0) === 32 || rest.startsWith('#')) return undefined;
  if (at.seqItem && (isDash(rest) || startsKey(rest))) return undefined;
  let value: SourceNode;
  try {
    value = inlineValue(rest, line, column);
  } catch (e) {
    if (e instanceof NotInSubset) return undefined;
    throw e;
  }
  // Copy the path from the item down to the value.
  for (let k = at.chain.length - 1; k >= 0; k--) {
    const { node, index } = at.chain[k]!;
    if (node.kind === 'map') {
      const pairs = node.pairs.slice();
      pairs[index] = { key: pairs[index]!.key, value };
      value = { kind: 'map', pairs, pos: node.pos };
    } else {
      const items = node.items.slice();
      items[index] = value;
      value = { kind: 'seq', items, pos: node.pos };
    }
  }
  return value;
}

/**
 * The value written on `line` (item-relative) of an item's block tree, after `key: ` or `- `, and the block maps
 * and lists above it with the index taken in each; undefined when that line holds no such value (a key whose value
 * is a block below, a comment, a blank line).
 */
function valueOnLine(root: SourceNode, line: number, text: string, lineStart: number): { chain: { node: SourceMap | SourceSeq; index: number }[]; value: SourceNode; seqItem: boolean } | undefined {
  const chain: { node: SourceMap | SourceSeq; index: number }[] = [];
  const flow = (n: SourceNode) => n.kind !== 'scalar' && n.pos.line === line && (text.charCodeAt(lineStart + n.pos.column - 1) === 123 /* { */ || text.charCodeAt(lineStart + n.pos.column - 1) === 91 /* [ */);
  let node = root;
  for (;;) {
    if (node.kind === 'map') {
      if (flow(node)) return undefined;
      let i = node.pairs.length - 1;
      while (i >= 0 && (node.pairs[i]!.key?.pos.line ?? Infinity) > line) i--;
      if (i < 0) return undefined;
      const { key, value } = node.pairs[i]!;
      if (value === null) return undefined;
      chain.push({ node, index: i });
      if (key!.pos.line === line) {
        return value.pos.line === line && (value.kind === 'scalar' || flow(value)) ? { chain, value, seqItem: false } : undefined;
      }
      node = value;
    } else if (node.kind === 'seq') {
      if (flow(node)) return undefined;
      let i = node.items.length - 1;
      while (i >= 0 && (node.items[i]?.pos.line ?? Infinity) > line) i--;
      if (i < 0) return undefined;
      const item = node.items[i]!;
      chain.push({ node, index: i });
      if (item.pos.line === line && (item.kind === 'scalar' || flow(item))) return { chain, value: item, seqItem: true };
      node = item;
    } else return undefined;
  }
}

class BlockReader {
  i = 0;
  /** Top-level item lists read this time (the root reader only). */
  readonly lists: ItemList[] = [];
  constructor(
    private readonly lines: readonly Line[],
    /** The whole text (the root reader only: items are sliced from it). */
    private readonly text: string,
    /** Item trees of the last read, by their text. */
    private readonly cached: ReadonlyMap<string, SourceNode>,
    /** The number a line after the text's end would have. */
    private readonly lineCount: number,
  ) {}

  /** The block node starting at the current line, whose indentation must be at least `min`. */
  block(min: number, root = false): SourceNode {
    const line = this.lines[this.i];
    if (!line || line.indent < min) return bail();
    if (isDash(line.text)) return this.seq(line.indent);
    return this.map(line.indent, line.text, line.indent, root);
  }

  /** A block list at indentation `indent`; `pair`: its index in the root map, when it is a top-level key's value. */
  seq(indent: number, pair?: number): SourceNode {
    const first = this.lines[this.i]!;
    const items: SourceNode[] = [];
    const starts: number[] = [];
    const itemLineBase: number[] = [];
    let allMaps = true;
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      if (line.indent < indent) break;
      if (line.indent > indent || !isDash(line.text)) bail();
      const { rest, column } = itemHead(line);
      if (rest === '' || rest.startsWith('#')) bail();
      if (isDash(rest)) bail();
      if (pair !== undefined && startsKey(rest)) {
        // `- key: value` in a top-level list: read once, shared by later reads with the same text.
        let end = this.i + 1;
        while (end < this.lines.length && this.lines[end]!.indent > indent) end++;
        const to = end < this.lines.length ? this.lines[end]!.start : this.text.length;
        const slice = this.text.slice(line.start, to);
        let item = this.cached.get(slice);
        if (item) meshCounters.itemsReused++;
        else {
          const base = line.no - 1;
          const rel = this.lines.slice(this.i, end).map((l) => ({ no: l.no - base, indent: l.indent, text: l.text, start: l.start - line.start }));
          item = readItem(rel, column, rest);
        }
        this.i = end;
        items.push(item);
        starts.push(line.start);
        itemLineBase.push(line.no - 1);
      } else {
        allMaps = false;
        items.push(startsKey(rest) ? this.map(column, rest, column) : inlineValue(rest, line.no, column));
        if (!startsKey(rest)) this.i++;
      }
    }
    const pos = { line: first.no, column: first.indent + 1 };
    if (pair === undefined) return { kind: 'seq', items, pos };
    if (!allMaps) bail(); // a top-level list mixing maps and scalars: left to the `yaml` library (rare)
    const after = this.lines[this.i];
    starts.push(after ? after.start : this.text.length);
    this.lists.push({ indent, pair, starts, lines: itemLineBase, nodes: items, endLine: after ? after.no : this.lineCount });
    return { kind: 'seq', items, pos, itemLines: itemLineBase };
  }

  /**
   * A block map whose keys are at indentation `indent`; its first key is `firstText` on the current line, at
   * `firstColumn` (0-based; differs from the line's indentation for a map that starts after a list's dash).
   */
  map(indent: number, firstText: string, firstColumn: number, root = false): SourceNode {
    const pairs: SourcePair[] = [];
    const seen = new Set<string>();
    const pos = { line: this.lines[this.i]!.no, column: firstColumn + 1 };
    let text = firstText;
    let column = firstColumn;
    for (;;) {
      const line = this.lines[this.i]!;
      const colon = keyEnd(text);
      if (colon < 0) bail();
      const key = text.slice(0, colon);
      if (!KEY.test(key) || NOT_STRING_KEYS.has(key) || seen.has(key)) bail();
      seen.add(key);
      const keyNode: SourceNode = { kind: 'scalar', value: key, pos: { line: line.no, column: column + 1 } };
      const rest = text.slice(colon + 1).replace(/^ +/, '');
      let value: SourceNode;
      if (rest === '' || rest.startsWith('#')) {
        this.i++;
        const next = this.lines[this.i];
        // A nested block: deeper, or a list at the key's own indentation (`key:\n- item`).
        if (next && (next.indent > indent || (next.indent === indent && isDash(next.text)))) {
          value = root && isDash(next.text) ? this.seq(next.indent, pairs.length) : this.block(next.indent);
        } else return bail(); // an empty value: left to the `yaml` library
      } else {
        value = inlineValue(rest, line.no, column + text.length - rest.length);
        this.i++;
      }
      pairs.push({ key: keyNode, value });
      const next = this.lines[this.i];
      if (!next || next.indent < indent) break;
      if (next.indent > indent || isDash(next.text)) {
        // A list at this map's own indentation is a value only right after its key (handled above).
        if (next.indent === indent && isDash(next.text)) break;
        bail();
      }
      text = next.text;
      column = next.indent;
    }
    return { kind: 'map', pairs, pos };
  }
}

function isDash(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

/** Whether the text starts with `key:` followed by a space or the end (a block map entry). */
function startsKey(text: string): boolean {
  const c = text[0];
  if (c === '[' || c === '{' || c === '"' || c === "'") return false;
  return keyEnd(text) >= 0;
}

/** Index of the colon that ends a block key, or -1. */
function keyEnd(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 58 /* : */ && (i + 1 === text.length || text.charCodeAt(i + 1) === 32)) return i;
    if (c === 35 /* # */ && i > 0 && text.charCodeAt(i - 1) === 32) return -1;
  }
  return -1;
}

/** A value on the rest of one line (0-based column): flow collection, quoted or plain scalar, then a comment. */
function inlineValue(text: string, line: number, column: number): SourceNode {
  const c = text[0];
  if (c === '[' || c === '{') {
    const flow = new FlowReader(text, line, column);
    const node = flow.node();
    flow.end();
    return node;
  }
  if (c === '"' || c === "'") {
    const { value, end } = quoted(text, 0);
    trailing(text, end);
    return { kind: 'scalar', value, pos: { line, column: column + 1 } };
  }
  let end = text.length;
  const hash = text.indexOf(' #');
  if (hash >= 0) end = hash;
  const raw = text.slice(0, end).replace(/ +$/, '');
  if (raw.includes(': ') || raw.endsWith(':')) bail();
  return { kind: 'scalar', value: plainValue(raw), pos: { line, column: column + 1 } };
}

/** What follows a value on its line: nothing, or a comment after a space. */
function trailing(text: string, from: number): void {
  const rest = text.slice(from);
  if (rest === '' || /^ +$/.test(rest) || /^ +#/.test(rest)) return;
  bail();
}

/** A one-line quoted scalar starting at `from`; escapes and line breaks are left to the `yaml` library. */
function quoted(text: string, from: number): { value: string; end: number } {
  const q = text[from]!;
  let out = '';
  let i = from + 1;
  for (;;) {
    if (i >= text.length) bail();
    const c = text[i]!;
    if (q === '"' && c === '\\') bail();
    if (c === q) {
      if (q === "'" && text[i + 1] === "'") {
        out += "'";
        i += 2;
        continue;
      }
      return { value: out, end: i + 1 };
    }
    out += c;
    i++;
  }
}

/** A plain scalar under the core schema: null, boolean, plain integer or string (anything else: bail). */
function plainValue(raw: string): unknown {
  if (raw === '') bail();
  const c = raw[0]!;
  if (INDICATOR_START.has(c)) bail();
  if (c === '-' && (raw.length === 1 || raw[1] === ' ')) bail();
  switch (raw) {
    case '~':
    case 'null':
    case 'Null':
    case 'NULL':
      return null;
    case 'true':
    case 'True':
    case 'TRUE':
      return true;
    case 'false':
    case 'False':
    case 'FALSE':
      return false;
  }
  // Every other non-string of the core schema starts with a digit, a sign or a dot.
  const k = raw.charCodeAt(0);
  if (!((k >= 48 && k <= 57) || k === 43 || k === 45 || k === 46)) return raw;
  if (PLAIN_INT.test(raw)) return Number(raw);
  for (const re of OTHER_NON_STRING) if (re.test(raw)) bail();
  return raw;
}

/** One-line flow collections: `{ a: 1, b: [x, y] }`. */
class FlowReader {
  #i = 0;
  constructor(
    private readonly text: string,
    private readonly line: number,
    private readonly column: number,
  ) {}

  end(): void {
    trailing(this.text, this.#i);
  }

  #spaces(): void {
    while (this.text.charCodeAt(this.#i) === 32) this.#i++;
  }

  #pos(): { line: number; column: number } {
    return { line: this.line, column: this.column + this.#i + 1 };
  }

  node(): SourceNode {
    this.#spaces();
    const c = this.text[this.#i];
    if (c === '{') return this.#map();
    if (c === '[') return this.#seq();
    if (c === '"' || c === "'") {
      const pos = this.#pos();
      const { value, end } = quoted(this.text, this.#i);
      this.#i = end;
      return { kind: 'scalar', value, pos };
    }
    return this.#plain(false);
  }

  /** A plain scalar up to `,` `]` `}` (or, for a key, `: `). */
  #plain(key: boolean): SourceNode {
    const pos = this.#pos();
    const start = this.#i;
    const t = this.text;
    while (this.#i < t.length) {
      const c = t.charCodeAt(this.#i);
      if (c === 44 /* , */ || c === 93 /* ] */ || c === 125 /* } */ || c === 91 /* [ */ || c === 123 /* { */) break;
      if (c === 58 /* : */) {
        const d = this.#i + 1 < t.length ? t.charCodeAt(this.#i + 1) : -1;
        if (d === 32 || d === -1 || d === 44 || d === 93 || d === 125) {
          if (!key) bail();
          break;
        }
      }
      if (c === 35 /* # */ && this.#i > 0 && t.charCodeAt(this.#i - 1) === 32) bail();
      this.#i++;
    }
    let end = this.#i;
    while (end > start && t.charCodeAt(end - 1) === 32) end--;
    const raw = t.slice(start, end);
    if (key && (!KEY.test(raw) || NOT_STRING_KEYS.has(raw))) bail();
    return { kind: 'scalar', value: key ? raw : plainValue(raw), pos };
  }

  #map(): SourceNode {
    const pos = this.#pos();
    this.#i++;
    const pairs: SourcePair[] = [];
    const seen = new Set<string>();
    this.#spaces();
    if (this.text[this.#i] === '}') {
      this.#i++;
      return { kind: 'map', pairs, pos };
    }
    for (;;) {
      this.#spaces();
      const key = this.#plain(true) as { value: string } & SourceNode;
      if (seen.has(key.value)) bail();
      seen.add(key.value);
      if (this.text[this.#i] !== ':' || this.text[this.#i + 1] !== ' ') bail();
      this.#i += 2;
      const value = this.node();
      pairs.push({ key, value });
      this.#spaces();
      const c = this.text[this.#i];
      this.#i++;
      if (c === '}') return { kind: 'map', pairs, pos };
      if (c !== ',') bail();
      this.#spaces();
      if (this.text[this.#i] === '}') bail(); // a trailing comma: left to the `yaml` library
    }
  }

  #seq(): SourceNode {
    const pos = this.#pos();
    this.#i++;
    const items: SourceNode[] = [];
    this.#spaces();
    if (this.text[this.#i] === ']') {
      this.#i++;
      return { kind: 'seq', items, pos };
    }
    for (;;) {
      const item = this.node();
      if (item.kind === 'scalar' && this.text[this.#i] === ':') bail(); // `[a: b]` is a map in YAML
      items.push(item);
      this.#spaces();
      const c = this.text[this.#i];
      this.#i++;
      if (c === ']') return { kind: 'seq', items, pos };
      if (c !== ',') bail();
      this.#spaces();
      if (this.text[this.#i] === ']') bail();
    }
  }
}
