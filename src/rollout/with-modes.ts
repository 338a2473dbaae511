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

/**
 * The model with the given modes in force. Services, ports and dependencies that no override touches are the
 * original (frozen) objects; the rest are frozen copies. Every method answers with the derived services.
 */
export function withModes(model: MeshModel, overrides: ModeOverrides): MeshModel {
  const ports = overrides.ports ?? new Map<string, Mode>();
  const serverModes = overrides.serverModes ?? new Map<string, Mode>();
  const serviceModes = overrides.serviceModes ?? new Map<string, Mode>();

  const services = model.services.map((s): Service => {
    let changed = false;
    const inbound = s.inbound.map((ib): InboundPort => {
      const mode = ports.get(portKey(s.name, ib.port));
      if (mode === undefined || mode === ib.mode) return ib;
      changed = true;
      return Object.freeze({ ...ib, mode });
    });
    const outbound = s.outbound.map((dep): Outbound => {
      const serverMode = serverModes.get(edgeKey(s.name, dep.name));
      if (serverMode === undefined || serverMode === dep.serverMode) return dep;
      changed = true;
      return Object.freeze({ ...dep, serverMode });
    });
    const mode = serviceModes.get(s.name) ?? s.mode;
    if (!changed && mode === s.mode) return s;
    return Object.freeze({ ...s, mode, inbound: freezeAll(inbound), outbound: freezeAll(outbound) });
  });

  const byName = new Map(services.map((s) => [s.name, s]));
  const derived = (s: Service | undefined): Service | undefined => (s === undefined ? undefined : byName.get(s.name));
  const byPrincipal = new Map<string, readonly Service[]>();
  const principalKey = (p: NodePrincipal): string => (p.kind === 'uid' ? `uid:${p.uid}` : `node:${p.name}`);
  return Object.freeze({
    file: model.file,
    trustDomain: model.trustDomain,
    defaultMode: model.defaultMode,
    accessLogs: model.accessLogs,
    federation: model.federation,
    services: freezeAll(services),
    serviceByName: (name: string) => byName.get(name),
    serviceBySpiffeId: (id: SpiffeId | string) => derived(model.serviceBySpiffeId(id)),
    servicesForPrincipal: (p: NodePrincipal) => {
      const key = principalKey(p);
      let list = byPrincipal.get(key);
      if (!list) byPrincipal.set(key, (list = freezeAll(model.servicesForPrincipal(p).map((s) => byName.get(s.name) ?? s))));
      return list;
    },
    knownTrustDomains: () => model.knownTrustDomains(),
    // Modes do not change who is admitted: ask the description with its own service object.
    admitsCaller: (s: Service, caller: SpiffeId) => model.admitsCaller(model.serviceByName(s.name) ?? s, caller),
    locate: (path: string) => model.locate(path),
  });
}
