// What listeners, clusters, routes and endpoints exist, per node group (go-control-plane's cache, as opposed to
// the server that delivers it). A group is a node's cluster (its service name); the default group '' holds what
// every node gets unless its own group has a resource of the same name. Resources are encoded once when set (or
// come encoded); versions come from the encoded bytes, so setting identical content again changes nothing, and a
// resource whose bytes equal those in force keeps its version without being hashed again.
import type { Any } from '@bufbuild/protobuf/wkt';
import { TrustplaneError } from '../../errors.js';
import { bytesVersion, encodeAny } from '../codec.js';
import { CONFIG_TYPES, type ConfigTypeUrl } from '../type-urls.js';

export const DEFAULT_GROUP = '';

/** A resource to set: packed with anyPack, or already encoded as an Any. */
export type NamedResource = PackedResource | EncodedResource;

export interface PackedResource {
  readonly name: string;
  /** The resource packed with anyPack; its type URL must be the type it is set under. */
  readonly resource: Any;
}

export interface EncodedResource {
  readonly name: string;
  /** The type URL the Any carries; it must be the type it is set under. */
  readonly typeUrl: string;
  /** The encoded google.protobuf.Any (as toBinary writes it), kept as it is: no copy. */
  readonly any: Uint8Array;
}

export interface CachedResource {
  readonly name: string;
  readonly version: string;
  readonly any: Uint8Array;
}

export interface ResourceChange {
  /** The group whose resources changed ('' = the default group, which every node sees). */
  readonly group: string;
  readonly typeUrl: ConfigTypeUrl;
  /** Names added, replaced or removed in that group. */
  readonly names: readonly string[];
}

export type ResourceSnapshot = Partial<Record<ConfigTypeUrl, readonly NamedResource[]>>;

type TypeTable = Map<string, CachedResource>;

export class ResourceCacheError extends TrustplaneError {}


export class ResourceCache {
  readonly #groups = new Map<string, Map<ConfigTypeUrl, TypeTable>>();
  readonly #listeners = new Set<(changes: readonly ResourceChange[]) => void>();
  readonly #counts = { hashed: 0, kept: 0 };

  /** Versions computed from bytes (hashed) and kept because the bytes equal those in force, since creation. */
  get versionCounts(): { readonly hashed: number; readonly kept: number } {
    return { ...this.#counts };
  }

  /**
   * Replaces the named types of one group whole (types not in the snapshot are left alone). Checked first and
   * swapped in only if every resource is valid: a bad snapshot changes nothing.
   */
  setSnapshot(group: string, snapshot: ResourceSnapshot): void {
    const types = Object.keys(snapshot) as ConfigTypeUrl[];
    for (const typeUrl of types) {
      if (!CONFIG_TYPES.includes(typeUrl)) {
        throw new ResourceCacheError('XDS_RESOURCE_TYPE_UNKNOWN', `resource cache group ${JSON.stringify(group)}: type ${typeUrl} is not one of ${CONFIG_TYPES.join(', ')}`);
      }
    }
    const staged = this.stage(group, types);
    for (const typeUrl of types) {
      for (const r of snapshot[typeUrl]!) staged.add(typeUrl, r.name, 'any' in r ? r.typeUrl : r.resource.typeUrl, 'any' in r ? r.any : undefined, 'any' in r ? undefined : r.resource);
    }
    this.commit(staged);
  }

  /**
   * A new content for the given types of one group, built resource by resource (what setSnapshot does, without a
   * snapshot object and a second object per resource: a reload stages 80,000 resources and holds them until every
   * service is built). Nothing changes until commit().
   */
  stage(group: string, types: readonly ConfigTypeUrl[] = CONFIG_TYPES): StagedGroup {
    return new StagedGroup(group, types, this.#groups.get(group), this.#counts);
  }

  /** Puts a staged group in force and tells the subscribers what changed. */
  commit(staged: StagedGroup): void {
    const group = staged.group;
    const current = this.#groups.get(group) ?? new Map<ConfigTypeUrl, TypeTable>();
    const changes: ResourceChange[] = [];
    for (const [typeUrl, table] of staged.tables) {
      const before = current.get(typeUrl);
      // Every entry is the very one in force: the table in force stays (the staged one, a copy of it, is let go).
      if (before !== undefined && sameEntries(before, table)) continue;
      const names = diff(before, table);
      if (table.size) current.set(typeUrl, table);
      else current.delete(typeUrl);
      if (names.length) changes.push({ group, typeUrl, names });
    }
    if (current.size) this.#groups.set(group, current);
    else this.#groups.delete(group);
    this.#emit(changes);
  }

  /** Removes every resource of a group. */
  removeGroup(group: string): void {
    const current = this.#groups.get(group);
    if (!current) return;
    this.#groups.delete(group);
    this.#emit([...current].map(([typeUrl, table]) => ({ group, typeUrl, names: [...table.keys()] })));
  }

  get(group: string, typeUrl: string, name: string): CachedResource | undefined {
    const t = typeUrl as ConfigTypeUrl;
    return this.#groups.get(group)?.get(t)?.get(name) ?? this.#groups.get(DEFAULT_GROUP)?.get(t)?.get(name);
  }

  /** Every name a node of this group sees for the type, sorted. */
  names(group: string, typeUrl: string): string[] {
    const t = typeUrl as ConfigTypeUrl;
    const names = new Set(this.#groups.get(DEFAULT_GROUP)?.get(t)?.keys() ?? []);
    for (const n of this.#groups.get(group)?.get(t)?.keys() ?? []) names.add(n);
    return [...names].sort();
  }

  subscribe(listener: (changes: readonly ResourceChange[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(changes: readonly ResourceChange[]): void {
    if (!changes.length) return;
    for (const l of [...this.#listeners]) l(changes);
  }
}

/** A staged type with nothing in it (never written to: add() makes the type a table of its own first). */
const EMPTY: TypeTable = new Map();

/** One group's new tables, checked and versioned resource by resource (ResourceCache.stage). */
export class StagedGroup {
  /**
   * Per type staged: the resources in the order added; a type nothing was added to stays EMPTY (no Map of its
   * own: a reload stages every type of 10,000 groups, and a sidecar has no routes or endpoints).
   */
  readonly tables = new Map<ConfigTypeUrl, TypeTable>();
  readonly #before: ReadonlyMap<ConfigTypeUrl, TypeTable> | undefined;
  readonly #counts: { hashed: number; kept: number };

  constructor(
    readonly group: string,
    types: readonly ConfigTypeUrl[],
    before: ReadonlyMap<ConfigTypeUrl, TypeTable> | undefined,
    counts: { hashed: number; kept: number },
  ) {
    for (const t of types) this.tables.set(t, EMPTY);
    this.#before = before;
    this.#counts = counts;
  }

  /**
   * Adds one resource of `typeUrl` (a type staged): encoded (`any`, an Any of type `type`) or packed
   * (`resource`). Throws on an empty or repeated name or an Any of another type.
   */
  add(typeUrl: ConfigTypeUrl, name: string, type: string, any: Uint8Array | undefined, resource?: Any): void {
    let table = this.tables.get(typeUrl);
    if (!table) throw new ResourceCacheError('XDS_RESOURCE_TYPE_UNKNOWN', `resource cache group ${JSON.stringify(this.group)}: type ${typeUrl} was not staged`);
    if (!name) throw new ResourceCacheError('XDS_RESOURCE_NAME_EMPTY', `${this.#where(typeUrl)}: resource ${table.size} has an empty name`);
    if (table.has(name)) {
      throw new ResourceCacheError('XDS_RESOURCE_DUPLICATE', `${this.#where(typeUrl)}: resource name ${JSON.stringify(name)} appears twice; names must be unique per type`);
    }
    if (type !== typeUrl) {
      throw new ResourceCacheError('XDS_RESOURCE_TYPE_MISMATCH', `${this.#where(typeUrl)}: resource ${JSON.stringify(name)} is a ${type || '(no type)'}; only ${typeUrl} is accepted here`);
    }
    if (table === EMPTY) this.tables.set(typeUrl, (table = new Map()));
    const bytes = any ?? encodeAny(typeUrl, resource!.value);
    // Equal bytes, equal version: comparing is cheaper than hashing (most resources of a regenerated service are
    // often unchanged). The new bytes are kept all the same, so a service's buffer is not held by its old group.
    const old = this.#before?.get(typeUrl)?.get(name);
    const keep = old !== undefined && sameBytes(old.any, bytes);
    this.#counts[keep ? 'kept' : 'hashed']++;
    // The very Any in force (handed back by held()): the entry in force is kept as it is, no new object.
    if (keep && old.any === bytes) table.set(name, old);
    else table.set(name, { name, version: keep ? old.version : bytesVersion(bytes), any: bytes });
  }

  /**
   * The Anys in force for this group, to be handed back to add() where a new resource has the same bytes (no copy
   * kept of it) — or undefined when the group's Anys hold more than twice their own size of buffers: Anys handed
   * back keep alive the buffer they were cut from, with whatever else in it was replaced since, so a group that
   * got there is written out afresh (into one buffer of its own) instead.
   */
  held(): ((typeUrl: string, name: string) => Uint8Array | undefined) | undefined {
    const before = this.#before;
    if (!before) return undefined;
    const buffers = new Set<ArrayBufferLike>();
    let own = 0;
    let held = 0;
    for (const table of before.values()) {
      for (const r of table.values()) {
        own += r.any.byteLength;
        if (buffers.has(r.any.buffer)) continue;
        buffers.add(r.any.buffer);
        held += r.any.buffer.byteLength;
      }
    }
    if (held > 2 * own) return undefined;
    return (typeUrl, name) => before.get(typeUrl as ConfigTypeUrl)?.get(name)?.any;
  }

  #where(typeUrl: string): string {
    return `resource cache group ${JSON.stringify(this.group)}, type ${typeUrl}`;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a === b || (a.byteLength === b.byteLength && Buffer.compare(a, b) === 0);
}

function sameEntries(before: TypeTable, after: TypeTable): boolean {
  if (before.size !== after.size) return false;
  for (const [name, r] of after) if (before.get(name) !== r) return false;
  return true;
}

function diff(before: TypeTable | undefined, after: TypeTable): string[] {
  const names: string[] = [];
  for (const [name, r] of after) if (before?.get(name)?.version !== r.version) names.push(name);
  for (const name of before?.keys() ?? []) if (!after.has(name)) names.push(name);
  return names;
}
