// Entry point of the mesh description: text + file name in, frozen model out. Pure: no I/O, so a reload can
// parse the new text fully before deciding whether to swap it in.
import type { SpiffeId } from '../spiffe/id.js';
import type { TrustDomain } from '../spiffe/trust-domain.js';
import type { MeshModel, NodePrincipal, Service } from './model.js';
import { ModelIndex } from './model-index.js';
import { MeshError, type MeshProblem } from './problems.js';
import type { RawMesh } from './raw.js';
import { Resolver, type Resolved, type ServiceDelta } from './resolve.js';
import { readFastYaml } from './fast-yaml.js';
import { yamlSourceTree, type SourceIndex, type SourceRead } from './source-tree.js';
import { checkStructure } from './structure.js';

export type MeshCheck = { readonly ok: true; readonly model: MeshModel } | { readonly ok: false; readonly problems: readonly MeshProblem[] };

/**
 * Parses and validates; every problem is returned, sorted by position in the file. Never throws.
 *
 * Two readers, one check: plain YAML (what descriptions are written in) is read by fast-yaml.ts, ~20x faster than
 * the `yaml` library; text it does not take, and any description with a problem, is read again by the `yaml`
 * library, so every reported problem has exactly the position and wording it has always had.
 */
export function checkMesh(text: string, file: string): MeshCheck {
  const fast = readFastYaml(text);
  if (fast !== undefined) {
    const r = checkRead({ root: fast, errors: [] }, file, true);
    if (r.ok) return r;
  }
  return checkRead(yamlSourceTree(text), file, false);
}

/** The last model made from a fast read, with its lookups: the next one patches them. */
let last: { readonly services: readonly Service[]; readonly index: ModelIndex } | undefined;

/**
 * Checks a tree already read. `fast`: read by the fast reader, so its items are shared with earlier reads and the
 * result may patch (and becomes) the last one; a tree of the `yaml` library is checked and resolved afresh.
 */
export function checkRead(read: SourceRead, file: string, fast: boolean): MeshCheck {
  const structure = checkStructure(read, file);
  if (structure.value === undefined) return { ok: false, problems: structure.problems };
  const resolver = new Resolver(file, structure.positions, structure.problems.length === 0);
  // Only a fast read without a structural problem may patch (and become) the last resolve: its items are shared.
  const resolved = resolver.resolve(structure.value as RawMesh, fast && structure.problems.length === 0);
  const problems = [...structure.problems, ...resolver.problems].sort((a, b) => a.line - b.line || a.column - b.column);
  if (problems.length > 0 || resolved.trustDomain === undefined) return { ok: false, problems };
  const d = resolved.delta;
  const index = d && last?.services === d.previous ? last.index.patch(resolved.services, d) : ModelIndex.build(resolved.services);
  if (fast) last = { services: resolved.services, index };
  return { ok: true, model: buildModel(file, resolved as Resolved & { trustDomain: TrustDomain }, structure.positions, index) };
}

/** Parses and validates; throws MeshError carrying every problem. */
export function parseMesh(text: string, file: string): MeshModel {
  const r = checkMesh(text, file);
  if (!r.ok) throw new MeshError(file, r.problems);
  return r.model;
}

function buildModel(file: string, r: Resolved & { trustDomain: TrustDomain }, positions: SourceIndex, index: ModelIndex): MeshModel {
  const domains = Object.freeze([r.trustDomain, ...r.federation.map((f) => f.trustDomain)]);
  const d = r.delta;
  const model: MeshModel = {
    file,
    trustDomain: r.trustDomain,
    defaultMode: r.defaultMode,
    accessLogs: r.accessLogs,
    federation: deepFreeze(r.federation),
    services: freezeServices(r.services, d),
    ...(d ? { changes: Object.freeze({ previous: d.previous, changed: Object.freeze(d.changed.map((i) => r.services[i]!)), removed: Object.freeze([...d.removed]) }) } : {}),
    serviceByName: (name: string) => index.service(name),
    serviceBySpiffeId: (id: SpiffeId | string) => index.serviceBySpiffeId(id.toString()),
    servicesForPrincipal: (p: NodePrincipal) => index.servicesFor(p),
    knownTrustDomains: () => domains,
    admitsCaller: (s: Service, caller: SpiffeId) => s.allowedCallers.matcher(caller),
    locate: (path: string) => positions.get(path),
  };
  return Object.freeze(model);
}

/**
 * Freezes plain objects and arrays; class instances (SpiffeId, TrustDomain) are immutable already. A frozen one was
 * frozen here, children first: a service the resolver kept from the last reload is not walked again.
 */
function deepFreeze<T>(v: T): T {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'object' && x !== null) deepFreeze(x);
    }
    Object.freeze(v);
  } else if (Object.getPrototypeOf(v) === Object.prototype) {
    const o = v as Record<string, unknown>;
    for (const k in o) {
      const x = o[k];
      if (typeof x === 'object' && x !== null) deepFreeze(x);
    }
    Object.freeze(v);
  }
  return v;
}

/** The services of a patched resolve frozen: only the changed ones are new (the others are frozen already). */
function freezeServices(services: Service[], d: ServiceDelta | undefined): readonly Service[] {
  if (!d) return deepFreeze(services);
  for (const i of d.changed) deepFreeze(services[i]);
  return Object.freeze(services);
}
