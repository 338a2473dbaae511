// The resolved inputs of one service's resources: equal inputs mean equal resources, so a reload keeps what it
// built for a service whose inputs did not change.
//
// What the builders read (resources.ts and every module under it): the service itself — which, resolved, already
// holds what it depends on elsewhere in the description: each dependency's endpoints, protocol, server mode and
// expected SPIFFE IDs (so an edit of a server changes its clients' inputs), and the SPIFFE IDs and trust domains of
// its allowed callers (so a renamed or re-identified caller changes its servers' inputs) — the mesh's own trust
// domain (the validation context of a service admitting nobody), whether listeners send access logs, and the
// options. Field paths (`services[3]...`)
// only name places in the file for error messages and are left out: inserting a service above another does not
// change the other's resources. A builder that starts reading anything else must add it here.
import type { MeshModel, Service } from '../mesh/model.js';
import { diffAfresh } from '../mesh/service-diff.js';
import type { ResourceOptions } from './options.js';

/** Keys that do not feed any builder: source positions, and the matcher derived from the caller lists. */
const NOT_INPUTS = new Set(['path', 'matcher']);

/** The inputs of a service's resources, as kept between reloads. */
export interface ServiceInputs {
  readonly trustDomain: string;
  /** Whether listeners send access logs to trustplane (access-log.ts). */
  readonly accessLogs: boolean;
  readonly options: ResourceOptions;
  readonly service: Service;
}

export function serviceInputs(mesh: MeshModel, service: Service, options: ResourceOptions): ServiceInputs {
  return { trustDomain: mesh.trustDomain.name, accessLogs: mesh.accessLogs, options, service };
}

/** The inputs every service shares: when they change, every service's inputs may have. */
export function meshInputs(mesh: MeshModel): string {
  return `${mesh.trustDomain.name}|${mesh.accessLogs}`;
}

/** The services a model may have changed against the services of the last one, and the names it dropped. */
export interface ServiceChanges {
  /** Services of the new model that are not the very objects the last one had (new, edited, re-resolved). */
  readonly changed: readonly Service[];
  /** Names of services of the last model that the new one does not have. */
  readonly removed: readonly string[];
}

/**
 * Which services of `mesh` may have other inputs than in `prev` (the services of the model last built from),
 * given that the mesh-wide inputs (meshInputs) are the same. A service object is frozen and its resolved form
 * holds everything its resources read about the services it calls and that call it (see above), so the very
 * same object has the same inputs: only the others need looking at. O(changed) when the model says what it
 * changed against `prev` (model.changes, from a patched parse); otherwise the diff by identity the rollout and the
 * gate read too (mesh/service-diff.ts).
 */
export function changedServices(prev: readonly Service[], mesh: MeshModel): ServiceChanges {
  const gone = (names: Iterable<Service>): string[] => {
    const out: string[] = [];
    for (const s of names) if (mesh.serviceByName(s.name) === undefined) out.push(s.name);
    return out;
  };
  if (mesh.changes && mesh.changes.previous === prev) return { changed: mesh.changes.changed, removed: gone(mesh.changes.removed) };
  // Services only edited in place (or appended) remove nothing; after a reshape, a removed service's object is
  // among those replaced.
  // (The effective models of the rollout, not the descriptions the gate and the controller diff: worked out apart.)
  const diff = diffAfresh(prev, mesh.services);
  return { changed: diff.changed, removed: diff.reshaped ? gone(diff.replaced) : [] };
}

/** Whether two services' resources are built from the same inputs (compared in place: nothing is serialized). */
export function sameInputs(a: ServiceInputs, b: ServiceInputs): boolean {
  return a.trustDomain === b.trustDomain && a.accessLogs === b.accessLogs && same(a.options, b.options) && same(a.service, b.service);
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(a);
  if (proto !== Object.getPrototypeOf(b)) return false;
  // Value classes (SpiffeId, TrustDomain): equal when they print the same.
  if (proto !== Object.prototype) return String(a) === String(b);
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  // Keys counted as they are visited (no array of keys made per object: a full reload compares 10,000 services).
  let na = 0;
  for (const k in ra) {
    na++;
    if (NOT_INPUTS.has(k)) continue;
    if (!Object.hasOwn(rb, k) || !same(ra[k], rb[k])) return false;
  }
  let nb = 0;
  for (const _ in rb) nb++;
  return na === nb;
}
