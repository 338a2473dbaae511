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

/**
 * Plans made so far (tests read them, not timers): edges and ports planned afresh, and kept from before (a port's
 * or edge's plan read off a new service object that asks the same as the one it replaced is the plan kept).
 */
export const planCounters = { edgesPlanned: 0, edgesKept: 0, portsPlanned: 0, portsKept: 0 };

/**
 * Plans already made, by the (frozen) service objects they were read from: a client's edges depend on the client
 * alone, and a port's plan on its server and its edges. The resolver hands back the same service object for a
 * service that did not change (mesh/resolve.ts), so a reload plans only the ports whose inputs changed, and the
 * other plans stay the same objects (what the controller's per-port bookkeeping keys on). A new service object
 * keeps the plans of the one it replaces where they ask the same (the planner hands them over), so an edit of what
 * no plan reads (application ports, addresses, protocols) replans, steps and re-records nothing.
 */
interface Memo {
  readonly edgesOfClient: WeakMap<Service, ClientEdges>;
  readonly portsOfServer: WeakMap<Service, readonly PortPlan[]>;
}
const memo: Memo = { edgesOfClient: new WeakMap(), portsOfServer: new WeakMap() };

/** A client's edges, each with the key of the server port it calls. */
interface ClientEdges {
  readonly edges: readonly EdgePlan[];
  readonly portKeys: readonly string[];
}

/**
 * A client's edges. `previous`: the edges of the service object it replaces (same name); an edge that asks the
 * same is that edge object, and a client whose every edge is kept gets the previous list itself, so a reload that
 * changes nothing a plan reads (an application port, an address) changes no plan.
 */
function clientEdges(client: Service, previous?: ClientEdges, m: Memo = memo): ClientEdges {
  const hit = m.edgesOfClient.get(client);
  if (hit) return hit;
  const edges: EdgePlan[] = [];
  let kept = 0;
  for (const dep of client.outbound) {
    if (dep.kind !== 'service') continue;
    const wanted: Transport = usesMtls(client, dep) ? 'mtls' : 'plaintext';
    const old = previous?.edges[edges.length];
    // Compared field by field; the key and the cluster name follow from the client's and the dependency's names.
    if (old && old.client === client.name && old.dependency === dep.name && old.server === dep.service && old.port === dep.port && old.wanted === wanted && old.clientMode === client.mode) {
      planCounters.edgesKept++;
      kept++;
      edges.push(old);
      continue;
    }
    planCounters.edgesPlanned++;
    edges.push({ key: edgeKey(client.name, dep.name), client: client.name, dependency: dep.name, cluster: outboundClusterName(dep), server: dep.service, port: dep.port, wanted, clientMode: client.mode });
  }
  const planned = previous && kept === edges.length && kept === previous.edges.length ? previous : { edges, portKeys: edges.map((e) => portKey(e.server, e.port)) };
  m.edgesOfClient.set(client, planned);
  return planned;
}

const sameList = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Each server port's mesh clients (edges), by port key, in description order of the clients. */
function edgeIndex(services: readonly Service[], m: Memo = memo): Map<string, EdgePlan[]> {
  const edgesByPort = new Map<string, EdgePlan[]>();
  for (const client of services) {
    const { edges, portKeys } = clientEdges(client, undefined, m);
    edges.forEach((edge, i) => {
      const key = portKeys[i]!;
      const list = edgesByPort.get(key);
      if (list) list.push(edge);
      else edgesByPort.set(key, [edge]);
    });
  }
  return edgesByPort;
}

/**
 * A server's port plans: the plans kept from before for ports whose server and edges are the same objects, or,
 * given the plans of the service object it replaces (`previous`), whose port asks the same mode with the same
 * edges. A server whose every plan is kept gets the previous list itself.
 */
function planServer(s: Service, edgesByPort: ReadonlyMap<string, readonly EdgePlan[]>, previous?: readonly PortPlan[], m: Memo = memo): readonly PortPlan[] {
  const same = m.portsOfServer.get(s);
  const before = same ?? previous;
  const mine: PortPlan[] = [];
  let kept = 0;
  s.inbound.forEach((ib, i) => {
    const old = before?.[i];
    // The key of a plan made before for this port (a string whose hash is known), else a new one.
    const key = old && old.service === s.name && old.port === ib.port ? old.key : portKey(s.name, ib.port);
    const edges = edgesByPort.get(key) ?? [];
    // The listener name and the target follow from the port, the mode and the edges.
    if (old && old.key === key && old.asked === ib.mode && sameList(old.edges, edges)) {
      planCounters.portsKept++;
      kept++;
      mine.push(old);
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
  const planned = before && kept === mine.length && kept === before.length ? before : mine;
  m.portsOfServer.set(s, planned);
  return planned;
}

const NO_EDGES: readonly EdgePlan[] = Object.freeze([]);

/**
 * Every inbound port of every service, with its mesh clients, in description order. `afresh`: without the plans
 * made before (every plan a new object), what tests compare the kept plans with.
 */
export function planRollout(desired: MeshModel, opts: { readonly afresh?: boolean } = {}): PortPlan[] {
  const m: Memo = opts.afresh ? { edgesOfClient: new WeakMap(), portsOfServer: new WeakMap() } : memo;
  const edgesByPort = edgeIndex(desired.services, m);
  const plans: PortPlan[] = [];
  for (const s of desired.services) plans.push(...planServer(s, edgesByPort, undefined, m));
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
    // Servers to plan again, with their service object when known (else looked up in the description).
    const servers = new Map<string, Service | undefined>();
    const lists = new Map<string, EdgePlan[]>();
    const list = (key: string): EdgePlan[] => {
      let l = lists.get(key);
      if (!l) lists.set(key, (l = [...(this.#edgesByPort.get(key) ?? [])]));
      return l;
    };
    // A service edited in place whose edges all ask the same as before keeps its edge list: nothing to move. An
    // in-place edit is listed at the same index as the object it replaced (service-diff.ts); else look it up.
    // By index in `changed`; a pair found by name (not by index) is marked in `unmovedByName`.
    const unmoved: boolean[] = [];
    let unmovedByName: Set<Service> | undefined;
    let replacedByName: Map<string, Service> | undefined;
    changed.forEach((s, i) => {
      let o = replaced[i];
      const byIndex = o?.name === s.name;
      if (!byIndex) o = (replacedByName ??= new Map(replaced.map((r) => [r.name, r]))).get(s.name);
      if (!o) return;
      const had = clientEdges(o);
      if (clientEdges(s, had) !== had) return;
      if (byIndex) unmoved[i] = true;
      else (unmovedByName ??= new Set()).add(o).add(s);
    });
    for (const [i, o] of replaced.entries()) {
      if (!servers.has(o.name)) servers.set(o.name, undefined);
      if (unmoved[i] || unmovedByName?.has(o)) continue;
      const { edges, portKeys } = clientEdges(o);
      edges.forEach((e, i) => {
        const key = portKeys[i]!;
        const l = list(key);
        const at = l.indexOf(e);
        if (at >= 0) l.splice(at, 1);
        if (this.#edgeByKey.get(e.key) === e) this.#edgeByKey.delete(e.key);
        dirtyPorts.add(key);
      });
    }
    this.#services = desired.services;
    for (const [i, s] of changed.entries()) {
      if (!this.#index.has(s.name)) this.#index.set(s.name, this.#index.size);
      servers.set(s.name, s);
      if (unmoved[i] || unmovedByName?.has(s)) continue;
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
    }
    for (const [key, l] of lists) {
      if (l.length) this.#edgesByPort.set(key, l);
      else this.#edgesByPort.delete(key);
    }
    for (const key of dirtyPorts) {
      const p = this.#byKey.get(key);
      if (p && !servers.has(p.service)) servers.set(p.service, undefined);
    }
    const changes: PlanChange[] = [];
    for (const [name, known] of servers) {
      const s = known ?? desired.serviceByName(name);
      const old = this.#byServer.get(name) ?? [];
      const mine = s ? planServer(s, this.#edgesByPort, old) : [];
      if (mine === old) continue;
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
