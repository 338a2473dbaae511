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

/** Every inbound port of every service, with its mesh clients, in description order. */
export function planRollout(desired: MeshModel): PortPlan[] {
  const edgesByPort = new Map<string, EdgePlan[]>();
  for (const client of desired.services) {
    const { edges, portKeys } = clientEdges(client);
    edges.forEach((edge, i) => {
      const key = portKeys[i]!;
      const list = edgesByPort.get(key);
      if (list) list.push(edge);
      else edgesByPort.set(key, [edge]);
    });
  }
  const plans: PortPlan[] = [];
  for (const s of desired.services) {
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
        edges,
        plaintextClients,
      });
    });
    portsOfServer.set(s, mine);
    plans.push(...mine);
  }
  return plans;
}
