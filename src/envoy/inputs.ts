// The resolved inputs of one service's resources, as a key: equal keys mean equal resources, so a reload keeps
// what it built for a service whose key did not change.
//
// What the builders read (resources.ts and every module under it): the service itself — which, resolved, already
// holds what it depends on elsewhere in the description: each dependency's endpoints, protocol, server mode and
// expected SPIFFE IDs (so an edit of a server changes its clients' keys), and the SPIFFE IDs and trust domains of
// its allowed callers (so a renamed or re-identified caller changes its servers' keys) — the mesh's own trust
// domain (the validation context of a service admitting nobody) and the options. Field paths (`services[3]...`)
// only name places in the file for error messages and are left out: inserting a service above another does not
// change the other's resources. A builder that starts reading anything else must add it here.
import type { MeshModel, Service } from '../mesh/model.js';
import type { ResourceOptions } from './options.js';

/** Keys that do not feed any builder: source positions, and the matcher derived from the caller lists. */
const NOT_INPUTS = new Set(['path', 'matcher']);

function replacer(key: string, value: unknown): unknown {
  return NOT_INPUTS.has(key) ? undefined : value;
}

/**
 * Everything the service's resources are built from, as one string (SpiffeId/TrustDomain print as strings). Kept
 * whole rather than hashed: hashing cost more than comparing, and a few KB per service is what the model holds.
 */
export function serviceInputsKey(mesh: MeshModel, service: Service, options: ResourceOptions): string {
  return JSON.stringify([mesh.trustDomain.name, options, service], replacer);
}
