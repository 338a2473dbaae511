// A reader for the plain subset of YAML that mesh descriptions are written in: block maps and lists, one-line
// flow maps and lists, plain and quoted one-line scalars, comments. It returns the same tree the `yaml` library's
// document gives (source-tree.ts) — values under YAML 1.2's core schema, positions where each node starts — or
// undefined for anything outside the subset (anchors, aliases, tags, block scalars, multi-line scalars, escapes,
// numbers other than plain integers, duplicate keys, tabs, documents markers...), and the caller then reads the
// text with the `yaml` library. It never decides that text is invalid: only the `yaml` library reports problems.
//
// Why: the `yaml` library reads ~1 MB/s on this project's machines (a 10,000-service description, 4 MB, took
// ~5 s of CPU and 20-30 s under load); this reader is linear and allocation-light. test/mesh/fast-yaml.test.ts
// holds its output to the `yaml` library's for every example, fixture and randomized description.
import type { SourceNode, SourcePair } from './source-tree.js';

/** Thrown inside the reader when the text leaves the subset; never escapes readFastYaml. */
class NotInSubset extends Error {}
const bail = (): never => {
  throw new NotInSubset();
};

interface Line {
  /** 1-based line number. */
  readonly no: number;
  readonly indent: number;
  /** The line without its indentation (trailing comments still in it). */
  readonly text: string;
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
 * List items (`- key: ...` maps, e.g. each service) of the last text read, by their exact lines and line numbers:
 * an edit of one service re-reads that service only. The trees are immutable, so sharing them is safe; the cache
 * holds one text's items and is replaced by the next successful read.
 */
let lastItems = new Map<string, SourceNode>();

/** The tree of `text`, or undefined when the text is outside the subset (read it with the `yaml` library). */
export function readFastYaml(text: string): SourceNode | undefined {
  try {
    const lines = splitLines(text);
    if (lines.length === 0) return undefined;
    const reader = new BlockReader(lines, lastItems);
    const root = reader.block(0);
    if (reader.i !== lines.length) bail();
    lastItems = reader.items;
    return root;
  } catch (e) {
    if (e instanceof NotInSubset) return undefined;
    throw e;
  }
}

function splitLines(text: string): Line[] {
  if (text.charCodeAt(0) === 0xfeff) bail();
  const out: Line[] = [];
  const raw = text.split('\n');
  for (let i = 0; i < raw.length; i++) {
    let s = raw[i]!;
    if (s.endsWith('\r')) s = s.slice(0, -1);
    if (s.includes('\t') || s.includes('\r')) bail();
    let indent = 0;
    while (indent < s.length && s.charCodeAt(indent) === 32) indent++;
    const content = s.slice(indent);
    if (content === '' || content.startsWith('#')) continue;
    if (indent === 0 && (content.startsWith('---') || content.startsWith('...') || content.startsWith('%'))) bail();
    out.push({ no: i + 1, indent, text: content });
  }
  return out;
}

class BlockReader {
  i = 0;
  /** The list items read this time, for the next read. */
  readonly items = new Map<string, SourceNode>();
  constructor(
    private readonly lines: readonly Line[],
    private readonly cached: ReadonlyMap<string, SourceNode>,
  ) {}

  /** The lines of the list item starting at the current line (up to the next line at most `indent` deep), as a key. */
  #itemKey(indent: number): { key: string; end: number } {
    let end = this.i + 1;
    while (end < this.lines.length && this.lines[end]!.indent > indent) end++;
    let key = '';
    for (let k = this.i; k < end; k++) {
      const l = this.lines[k]!;
      key += `${l.no} ${l.indent} ${l.text}\n`;
    }
    return { key, end };
  }

  /** The block node starting at the current line, whose indentation must be at least `min`. */
  block(min: number): SourceNode {
    const line = this.lines[this.i];
    if (!line || line.indent < min) return bail();
    if (isDash(line.text)) return this.seq(line.indent);
    return this.map(line.indent, line.text, line.indent);
  }

  /** A block list at indentation `indent`. */
  seq(indent: number): SourceNode {
    const first = this.lines[this.i]!;
    const items: SourceNode[] = [];
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      if (line.indent < indent) break;
      if (line.indent > indent || !isDash(line.text)) bail();
      const rest = line.text.slice(1).replace(/^ +/, '');
      const column = line.indent + line.text.length - rest.length;
      if (rest === '' || rest.startsWith('#')) bail();
      if (isDash(rest)) bail();
      if (startsKey(rest)) {
        // `- key: value`: a map whose keys line up with this first one; the same lines as last time, the same tree.
        const { key, end } = this.#itemKey(indent);
        let item = this.cached.get(key);
        if (item) this.i = end;
        else {
          item = this.map(column, rest, column);
          if (this.i !== end) bail();
        }
        this.items.set(key, item);
        items.push(item);
      } else {
        items.push(inlineValue(rest, line.no, column));
        this.i++;
      }
    }
    return { kind: 'seq', items, pos: { line: first.no, column: first.indent + 1 } };
  }

  /**
   * A block map whose keys are at indentation `indent`; its first key is `firstText` on the current line, at
   * `firstColumn` (0-based; differs from the line's indentation for a map that starts after a list's dash).
   */
  map(indent: number, firstText: string, firstColumn: number): SourceNode {
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
        if (next && (next.indent > indent || (next.indent === indent && isDash(next.text)))) value = this.block(next.indent);
        else return bail(); // an empty value: left to the `yaml` library
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
      const c = t[this.#i]!;
      if (c === ',' || c === ']' || c === '}' || c === '[' || c === '{') break;
      if (c === ':' && (t[this.#i + 1] === ' ' || t[this.#i + 1] === undefined || ',]}'.includes(t[this.#i + 1]!))) {
        if (!key) bail();
        break;
      }
      if (c === '#' && t[this.#i - 1] === ' ') bail();
      this.#i++;
    }
    const raw = t.slice(start, this.#i).replace(/ +$/, '');
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
