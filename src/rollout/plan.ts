// What the description asks of each server port and of each client's way to it, read off the desired model.
// Pure. The state machine (state-machine.ts) moves what is in force toward these targets.
import type { MeshModel, Mode, Service } from '../mesh/model.js';
import { inboundListenerName, outboundClusterName } from '../envoy/names.js';
import { usesMtls } from '../envoy/outbound.js';
import { edgeKey, portKey } from './with-modes.js';

/** How a client's proxy calls a server port: the cluster with or without an UpstreamTlsContext. */
export type Transport = 'mtls' | 'plaintext';

/** A mesh client's dependency on a server port. */
export interface EdgePlan {
  readonly key: string;
  readonly client: string;
  /** The dependency's name in the client (its cluster is `outbound_<dependency>`). */
  readonly dependency: string;
  /** The client's cluster for it. */
  readonly cluster: string;
  readonly server: string;
  readonly port: number;
  /** What the description asks: mTLS unless the server port is DISABLE or the client itself is DISABLE. */
  readonly wanted: Transport;
  /** The client's own mode as described. */
  readonly clientMode: Mode;
}

export interface PortPlan {
  readonly key: string;
  readonly service: string;
  readonly port: number;
  /** The server's listener for the port. */
  readonly listener: string;
  /** The port's mode in the description. */
  readonly asked: Mode;
  /**
   * Where the controller heads: `asked`, except that STRICT is held at PERMISSIVE while some client still calls
   * in plaintext by its own choice (its mode is DISABLE; lint TP0003): STRICT would refuse it.
   */
  readonly target: Mode;
  readonly edges: readonly EdgePlan[];
  /** Clients that call in plaintext because their own mode is DISABLE, when the port asks for STRICT. */
  readonly plaintextClients: readonly string[];
}

/** Plans made so far (tests read them, not timers): edges and ports planned afresh, and kept from before. */
export const planCounters = { edgesPlanned: 0, portsPlanned: 0, portsKept: 0 };

/**
 * Plans already made, by the (frozen) service objects they were read from: a client's edges depend on the client
 * alone, and a port's plan on its server and its edges. The resolver hands back the same service object for a
 * service that did not change (mesh/resolve.ts), so a reload plans only the ports whose inputs changed, and the
 * other plans stay the same objects (what the controller's per-port bookkeeping keys on).
 */
const edgesOfClient = new WeakMap<Service, ClientEdges>();
const portsOfServer = new WeakMap<Service, readonly PortPlan[]>();

/** A client's edges, each with the key of the server port it calls. */
interface ClientEdges {
  readonly edges: readonly EdgePlan[];
  readonly portKeys: readonly string[];
}

function clientEdges(client: Service): ClientEdges {
  const hit = edgesOfClient.get(client);
  if (hit) return hit;
  const edges: EdgePlan[] = [];
  for (const dep of client.outbound) {
    if (dep.kind !== 'service') continue;
    planCounters.edgesPlanned++;
    edges.push({
      key: edgeKey(client.name, dep.name),
      client: client.name,
      dependency: dep.name,
      cluster: outboundClusterName(dep),
      server: dep.service,
      port: dep.port,
      wanted: usesMtls(client, dep) ? 'mtls' : 'plaintext',
      clientMode: client.mode,
    });
  }
  const planned = { edges, portKeys: edges.map((e) => portKey(e.server, e.port)) };
  edgesOfClient.set(client, planned);
  return planned;
}

const sameList = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Each server port's mesh clients (edges), by port key, in description order of the clients. */
function edgeIndex(services: readonly Service[]): Map<string, EdgePlan[]> {
  const edgesByPort = new Map<string, EdgePlan[]>();
  for (const client of services) {
    const { edges, portKeys } = clientEdges(client);
    edges.forEach((edge, i) => {
      const key = portKeys[i]!;
      const list = edgesByPort.get(key);
      if (list) list.push(edge);
      else edgesByPort.set(key, [edge]);
    });
  }
  return edgesByPort;
}

/** A server's port plans: the plans kept from before for ports whose server and edges are the same objects. */
function planServer(s: Service, edgesByPort: ReadonlyMap<string, readonly EdgePlan[]>): readonly PortPlan[] {
  const before = portsOfServer.get(s);
  const mine: PortPlan[] = [];
  s.inbound.forEach((ib, i) => {
    const kept = before?.[i];
    const key = kept?.key ?? portKey(s.name, ib.port);
    const edges = edgesByPort.get(key) ?? [];
    if (kept && sameList(kept.edges, edges)) {
      planCounters.portsKept++;
      mine.push(kept);
      return;
    }
    planCounters.portsPlanned++;
    const plaintextClients = ib.mode === 'STRICT' ? edges.filter((e) => e.wanted === 'plaintext').map((e) => e.client) : [];
    mine.push({
      key,
      service: s.name,
      port: ib.port,
      listener: inboundListenerName(ib),
      asked: ib.mode,
      target: plaintextClients.length > 0 ? 'PERMISSIVE' : ib.mode,
      edges: edges.length === 0 ? NO_EDGES : edges,
      plaintextClients,
    });
  });
  portsOfServer.set(s, mine);
  return mine;
}

const NO_EDGES: readonly EdgePlan[] = Object.freeze([]);

/** Every inbound port of every service, with its mesh clients, in description order. */
export function planRollout(desired: MeshModel): PortPlan[] {
  const edgesByPort = edgeIndex(desired.services);
  const plans: PortPlan[] = [];
  for (const s of desired.services) plans.push(...planServer(s, edgesByPort));
  return plans;
}

/** A port whose plan a new description changed: before undefined = new port, after undefined = gone. */
export interface PlanChange {
  readonly key: string;
  readonly before: PortPlan | undefined;
  readonly after: PortPlan | undefined;
}

/**
 * planRollout kept up to date across descriptions: given which services changed (service-diff.ts), it replans
 * the ports of those services and of the servers their edges reach, and says which port plans changed. The plans
 * are those planRollout would make (the same objects).
 */
export class RolloutPlanner {
  #services: readonly Service[] = [];
  /** Position of each service in the description: the order of a port's edges. */
  #index = new Map<string, number>();
  #edgesByPort = new Map<string, readonly EdgePlan[]>();
  /** Port plans by server name, and by port key. */
  readonly #byServer = new Map<string, readonly PortPlan[]>();
  readonly #byKey = new Map<string, PortPlan>();
  readonly #edgeByKey = new Map<string, EdgePlan>();

  /** A port's plan by key. */
  port(key: string): PortPlan | undefined {
    return this.#byKey.get(key);
  }

  /** An edge's plan by key. */
  edge(key: string): EdgePlan | undefined {
    return this.#edgeByKey.get(key);
  }

  /** Every port plan, in description order: O(ports), for status pages. */
  plans(): PortPlan[] {
    const out: PortPlan[] = [];
    for (const s of this.#services) out.push(...(this.#byServer.get(s.name) ?? []));
    return out;
  }

  /** Plans `desired` from scratch; every port is reported as changed. */
  reset(desired: MeshModel): PlanChange[] {
    const before = new Map(this.#byKey);
    this.#services = desired.services;
    this.#index = new Map(desired.services.map((s, i) => [s.name, i]));
    this.#edgesByPort = edgeIndex(desired.services);
    this.#byServer.clear();
    this.#byKey.clear();
    this.#edgeByKey.clear();
    const changes: PlanChange[] = [];
    for (const s of desired.services) {
      const mine = planServer(s, this.#edgesByPort);
      this.#byServer.set(s.name, mine);
      for (const p of mine) {
        this.#byKey.set(p.key, p);
        for (const e of p.edges) this.#edgeByKey.set(e.key, e);
        changes.push({ key: p.key, before: before.get(p.key), after: p });
        before.delete(p.key);
      }
    }
    for (const [key, p] of before) changes.push({ key, before: p, after: undefined });
    return changes;
  }

  /**
   * Moves to `desired`, of which `changed` are the services new or different since the last call and `replaced`
   * the ones they replaced or that left (service-diff.ts, without a reshape). O(what changed).
   */
  update(desired: MeshModel, changed: readonly Service[], replaced: readonly Service[]): PlanChange[] {
    const dirtyPorts = new Set<string>();
    const servers = new Set<string>();
    const lists = new Map<string, EdgePlan[]>();
    const list = (key: string): EdgePlan[] => {
      let l = lists.get(key);
      if (!l) lists.set(key, (l = [...(this.#edgesByPort.get(key) ?? [])]));
      return l;
    };
    for (const o of replaced) {
      const { edges, portKeys } = clientEdges(o);
      edges.forEach((e, i) => {
        const key = portKeys[i]!;
        const l = list(key);
        const at = l.indexOf(e);
        if (at >= 0) l.splice(at, 1);
        if (this.#edgeByKey.get(e.key) === e) this.#edgeByKey.delete(e.key);
        dirtyPorts.add(key);
      });
      servers.add(o.name);
    }
    this.#services = desired.services;
    for (const s of changed) {
      if (!this.#index.has(s.name)) this.#index.set(s.name, this.#index.size);
      const { edges, portKeys } = clientEdges(s);
      const at = this.#index.get(s.name)!;
      edges.forEach((e, i) => {
        const key = portKeys[i]!;
        const l = list(key);
        // After every edge of an earlier client, and after this client's earlier edges to the same port.
        let pos = l.length;
        while (pos > 0 && this.#index.get(l[pos - 1]!.client)! > at) pos--;
        l.splice(pos, 0, e);
        this.#edgeByKey.set(e.key, e);
        dirtyPorts.add(key);
      });
      servers.add(s.name);
    }
    for (const [key, l] of lists) {
      if (l.length) this.#edgesByPort.set(key, l);
      else this.#edgesByPort.delete(key);
    }
    for (const key of dirtyPorts) {
      const p = this.#byKey.get(key);
      if (p) servers.add(p.service);
    }
    const changes: PlanChange[] = [];
    for (const name of servers) {
      const s = desired.serviceByName(name);
      const old = this.#byServer.get(name) ?? [];
      const mine = s ? planServer(s, this.#edgesByPort) : [];
      if (mine.length) this.#byServer.set(name, mine);
      else this.#byServer.delete(name);
      const now = new Set(mine.map((p) => p.key));
      for (const p of old) {
        if (now.has(p.key)) continue;
        if (this.#byKey.get(p.key) === p) this.#byKey.delete(p.key);
        changes.push({ key: p.key, before: p, after: undefined });
      }
      for (const p of mine) {
        const had = this.#byKey.get(p.key);
        if (had === p) continue;
        this.#byKey.set(p.key, p);
        changes.push({ key: p.key, before: had, after: p });
      }
    }
    return changes;
  }
}
