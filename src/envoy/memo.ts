// Sharing of identical sub-messages while one mesh's resources are built. Many pieces repeat across services
// (the HTTP manager of `inbound_15006` → `inbound_15006_app`, the local app cluster, a dependency's listener
// filter): building each once per mesh saves creating and encoding it again for every service, and shared
// frozen messages are byte-identical wherever they appear. The cache lives as long as the MeshModel object, so a
// reloaded description starts fresh and nothing grows across reloads.
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
