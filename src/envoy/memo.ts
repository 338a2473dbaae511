// Sharing of identical sub-messages while one mesh's resources are built. Many pieces repeat across services
// (the HTTP manager of `inbound_15006` → `inbound_15006_app`, the local app cluster, a dependency's listener
// filter): building each once per mesh saves creating and encoding it again for every service, and shared
// frozen messages are byte-identical wherever they appear. memo()'s cache lives as long as the MeshModel object,
// so a reloaded description starts fresh and nothing grows across reloads; lasting() keeps values whose key says
// everything they depend on from one mesh to the next, within a bound.
import type { MeshModel } from '../mesh/model.js';
import { packedInit, share } from './binary.js';

const byMesh = new WeakMap<MeshModel, WeakMap<object, Map<string, unknown>>>();

/** The value for `key` in the cache of (mesh, options), computed by `make` on first use and frozen. */
export function memo<T>(mesh: MeshModel, options: object, key: string, make: () => T): T {
  let byOptions = byMesh.get(mesh);
  if (!byOptions) byMesh.set(mesh, (byOptions = new WeakMap()));
  let cache = byOptions.get(options);
  if (!cache) byOptions.set(options, (cache = new Map()));
  let v = cache.get(key) as T | undefined;
  if (v === undefined) cache.set(key, (v = deepFreeze(make())));
  return v;
}

/**
 * Kept across meshes: what `lasting` remembers per options object. The values used while one mesh is built go
 * into `current`; `previous` holds what earlier meshes used, and is dropped once a new mesh has used as many
 * values as it holds (a full rebuild has then been served): what is kept stays within about twice what one whole
 * mesh uses, and edits of a few services between full rebuilds do not empty it.
 */
interface Generations {
  /** The mesh last built (weakly: a replaced model is not kept alive by this). */
  mesh: WeakRef<MeshModel>;
  current: Map<string, unknown>;
  previous: Map<string, unknown>;
}

const lastingByOptions = new WeakMap<object, Generations>();

/**
 * memo() for values that are a function of `key` and the options alone (the key names every input the value
 * reads, and nothing of the mesh): kept from one mesh to the next, so a reload does not build, freeze and encode
 * them again. Whoever calls it owns that promise; a value that reads anything else must use memo().
 */
export function lasting<T>(mesh: MeshModel, options: object, key: string, make: () => T): T {
  let g = lastingByOptions.get(options);
  if (!g) lastingByOptions.set(options, (g = { mesh: new WeakRef(mesh), current: new Map(), previous: new Map() }));
  if (g.mesh.deref() !== mesh) {
    g.mesh = new WeakRef(mesh);
    if (g.current.size >= g.previous.size) {
      g.previous = g.current;
      g.current = new Map();
    }
  }
  let v = g.current.get(key) as T | undefined;
  if (v !== undefined) return v;
  // Found in the older generation: carried into the current one (and left where it was: deleting from a large
  // map shrinks and rehashes it as it empties; the older generation is dropped whole).
  v = (g.previous.get(key) as T | undefined) ?? deepFreeze(make());
  g.current.set(key, v);
  return v;
}

/** How many values lasting() keeps for these options (tests check the bound). */
export function lastingSize(options: object): number {
  const g = lastingByOptions.get(options);
  return g ? g.current.size + g.previous.size : 0;
}

/** Constant messages (no input at all) are built once per process. */
export function once<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= deepFreeze(make()));
}

/**
 * Freezes a value and everything in it, and marks the value itself shared: its encoding is kept (binary.ts) and
 * copied wherever it appears. Only the value, not every sub-message in it: those are written inside its bytes,
 * and keeping a buffer of their own for each (and a WeakSet entry for every object) cost more than it saved. A
 * part that is memoised on its own was frozen and marked by its own call (it is not walked again here).
 */
export function deepFreeze<T>(o: T): T {
  if (!o || typeof o !== 'object' || Object.isFrozen(o) || ArrayBuffer.isView(o)) return o;
  // Marked first: the mark is a property of the value, which freezing would forbid.
  share(o);
  freeze(o);
  return o;
}

function freeze(o: unknown): boolean {
  if (!o || typeof o !== 'object' || Object.isFrozen(o) || ArrayBuffer.isView(o)) return false;
  Object.freeze(o);
  // A packed Any's `value` is a getter that encodes it: its init is frozen instead, without encoding anything.
  const packed = packedInit(o);
  if (packed) freeze(packed);
  else for (const v of Object.values(o)) freeze(v);
  return true;
}
