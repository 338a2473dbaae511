// A mesh model with some modes held back: what the rollout controller hands to the generator instead of the
// description as written. The description's model is frozen and shared (the generator memoises per model
// object), so this builds a new model beside it and never touches the original.
import type { SpiffeId } from '../spiffe/id.js';
import type { InboundPort, MeshModel, Mode, NodePrincipal, Outbound, Service } from '../mesh/model.js';

/** Key of a server port: `orders:15006`. */
export const portKey = (service: string, port: number): string => `${service}:${port}`;
/** Key of a client's dependency (an edge): `web→orders`; dependency names are unique per client. */
export const edgeKey = (client: string, dependency: string): string => `${client}→${dependency}`;

export interface ModeOverrides {
  /** Mode of a server port, by portKey. */
  readonly ports?: ReadonlyMap<string, Mode>;
  /** The server mode a client's proxy sees for one dependency (DISABLE = it calls in plaintext), by edgeKey. */
  readonly serverModes?: ReadonlyMap<string, Mode>;
  /**
   * A service's own mode, by name. The generator reads a service's own mode only to choose plaintext or mTLS for
   * its clusters (a DISABLE client calls in plaintext), so holding a client at mTLS while it moves to DISABLE
   * means overriding it here.
   */
  readonly serviceModes?: ReadonlyMap<string, Mode>;
}

function freezeAll<T>(items: T[]): readonly T[] {
  return Object.freeze(items);
}

/** The override keys of a service's ports and dependencies, by the (frozen) service object: built once. */
const keysOf = new WeakMap<Service, { readonly ports: readonly string[]; readonly edges: readonly string[] }>();
function keys(s: Service): { readonly ports: readonly string[]; readonly edges: readonly string[] } {
  let k = keysOf.get(s);
  if (!k) keysOf.set(s, (k = { ports: s.inbound.map((ib) => portKey(s.name, ib.port)), edges: s.outbound.map((dep) => edgeKey(s.name, dep.name)) }));
  return k;
}

/**
 * The copy last derived from each service object. A service held back the same way as last time gets the same
 * copy back, so what is keyed on service objects downstream (the resource inputs, the generator) sees no change.
 */
const derivedOf = new WeakMap<Service, Service>();

function sameModes(a: Service, b: Service): boolean {
  return a.mode === b.mode && a.inbound.every((ib, i) => ib === b.inbound[i]) && a.outbound.every((dep, i) => dep === b.outbound[i]);
}

/**
 * A service with the given modes in force: the service itself when no override changes it, else a frozen copy
 * (the same copy as last time when held back the same way). Ports and dependencies no override touches are the
 * original objects.
 */
export function deriveService(s: Service, overrides: ModeOverrides): Service {
  const ports = overrides.ports;
  const serverModes = overrides.serverModes;
  const k = keys(s);
  const mode = overrides.serviceModes?.get(s.name) ?? s.mode;
  let changed = mode !== s.mode;
  for (let i = 0; !changed && ports && i < s.inbound.length; i++) {
    const m = ports.get(k.ports[i]!);
    changed = m !== undefined && m !== s.inbound[i]!.mode;
  }
  for (let i = 0; !changed && serverModes && i < s.outbound.length; i++) {
    const m = serverModes.get(k.edges[i]!);
    changed = m !== undefined && m !== s.outbound[i]!.serverMode;
  }
  if (!changed) return s;
  const before = derivedOf.get(s);
  const inbound = s.inbound.map((ib, i): InboundPort => {
    const m = ports?.get(k.ports[i]!);
    if (m === undefined || m === ib.mode) return ib;
    return before?.inbound[i]?.mode === m ? before.inbound[i]! : Object.freeze({ ...ib, mode: m });
  });
  const outbound = s.outbound.map((dep, i): Outbound => {
    const m = serverModes?.get(k.edges[i]!);
    if (m === undefined || m === dep.serverMode) return dep;
    return before?.outbound[i]?.serverMode === m ? before.outbound[i]! : Object.freeze({ ...dep, serverMode: m });
  });
  const derived = Object.freeze({ ...s, mode, inbound: freezeAll(inbound), outbound: freezeAll(outbound) });
  if (before && sameModes(derived, before)) return before;
  derivedOf.set(s, derived);
  return derived;
}

/**
 * The model with the given modes in force. Services, ports and dependencies that no override touches are the
 * original (frozen) objects; the rest are frozen copies (the same copies as last time when held back the same way).
 * Every method answers with the derived services.
 */
export function withModes(model: MeshModel, overrides: ModeOverrides): MeshModel {
  const derived = new Map<string, Service>();
  const services = model.services.map((s): Service => {
    const d = deriveService(s, overrides);
    if (d !== s) derived.set(s.name, d);
    return d;
  });
  return modelWith(model, freezeAll(services), (s) => derived.get(s.name) ?? s);
}

/**
 * `model` with some services replaced by derived copies: `services` is model.services with some replaced, and
 * `derivedOf` answers a description's service with its copy in `services` (or itself). Built in O(1): lookups ask
 * the description, then `derivedOf`.
 */
export function modelWith(model: MeshModel, services: readonly Service[], derivedOf: (s: Service) => Service): MeshModel {
  const mine = (s: Service | undefined): Service | undefined => (s === undefined ? undefined : derivedOf(s));
  const byPrincipal = new Map<string, readonly Service[]>();
  const principalKey = (p: NodePrincipal): string => (p.kind === 'uid' ? `uid:${p.uid}` : `node:${p.name}`);
  return Object.freeze({
    file: model.file,
    trustDomain: model.trustDomain,
    defaultMode: model.defaultMode,
    accessLogs: model.accessLogs,
    federation: model.federation,
    services,
    serviceByName: (name: string) => mine(model.serviceByName(name)),
    serviceBySpiffeId: (id: SpiffeId | string) => mine(model.serviceBySpiffeId(id)),
    servicesForPrincipal: (p: NodePrincipal) => {
      const key = principalKey(p);
      let list = byPrincipal.get(key);
      if (!list) byPrincipal.set(key, (list = freezeAll(model.servicesForPrincipal(p).map(derivedOf))));
      return list;
    },
    knownTrustDomains: () => model.knownTrustDomains(),
    // Modes do not change who is admitted: ask the description with its own service object.
    admitsCaller: (s: Service, caller: SpiffeId) => model.admitsCaller(model.serviceByName(s.name) ?? s, caller),
    locate: (path: string) => model.locate(path),
  });
}
