// The resource types the server speaks, with the facts about each that the protocol depends on.
const PREFIX = 'type.googleapis.com/';

export const TYPE_SECRET = `${PREFIX}envoy.extensions.transport_sockets.tls.v3.Secret`;
export const TYPE_LISTENER = `${PREFIX}envoy.config.listener.v3.Listener`;
export const TYPE_CLUSTER = `${PREFIX}envoy.config.cluster.v3.Cluster`;
export const TYPE_ROUTE = `${PREFIX}envoy.config.route.v3.RouteConfiguration`;
export const TYPE_ENDPOINT = `${PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`;

export type ConfigTypeUrl = typeof TYPE_LISTENER | typeof TYPE_CLUSTER | typeof TYPE_ROUTE | typeof TYPE_ENDPOINT;

/**
 * Push order on an aggregated stream: clusters before their endpoints, listeners before their routes, secrets
 * last (Envoy asks for a secret only once a cluster or listener refers to it), as the xDS protocol recommends
 * so that nothing is warmed against a reference that has not arrived.
 */
export const PUSH_ORDER: readonly string[] = [TYPE_CLUSTER, TYPE_ENDPOINT, TYPE_LISTENER, TYPE_ROUTE, TYPE_SECRET];

export const CONFIG_TYPES: readonly ConfigTypeUrl[] = [TYPE_LISTENER, TYPE_CLUSTER, TYPE_ROUTE, TYPE_ENDPOINT];

const SHORT: Record<string, string> = {
  [TYPE_SECRET]: 'Secret',
  [TYPE_LISTENER]: 'Listener',
  [TYPE_CLUSTER]: 'Cluster',
  [TYPE_ROUTE]: 'RouteConfiguration',
  [TYPE_ENDPOINT]: 'ClusterLoadAssignment',
};

/** Columns of `trustplane status`, in istioctl's order. */
export const STATUS_COLUMNS: readonly { typeUrl: string; column: string }[] = [
  { typeUrl: TYPE_CLUSTER, column: 'CDS' },
  { typeUrl: TYPE_LISTENER, column: 'LDS' },
  { typeUrl: TYPE_ENDPOINT, column: 'EDS' },
  { typeUrl: TYPE_ROUTE, column: 'RDS' },
  { typeUrl: TYPE_SECRET, column: 'SDS' },
];

export function isKnownType(typeUrl: string): boolean {
  return typeUrl in SHORT;
}

/** The metric and log label of a type: its message name without the package. */
export function typeName(typeUrl: string): string {
  return SHORT[typeUrl] ?? 'unknown';
}

/** Only listeners and clusters have the legacy wildcard (empty name list = everything); SDS, RDS and EDS never. */
export function isWildcardType(typeUrl: string): boolean {
  return typeUrl === TYPE_LISTENER || typeUrl === TYPE_CLUSTER;
}

/**
 * A value per known type URL, in array slots by PUSH_ORDER (a Map per stream and per status record costs more
 * than the one or two values it holds). Iterates in PUSH_ORDER.
 */
export class PerType<T> {
  readonly #slots: (T | undefined)[] = new Array<T | undefined>(PUSH_ORDER.length);

  get(typeUrl: string): T | undefined {
    const i = PUSH_ORDER.indexOf(typeUrl);
    return i < 0 ? undefined : this.#slots[i];
  }

  set(typeUrl: string, value: T): void {
    const i = PUSH_ORDER.indexOf(typeUrl);
    if (i < 0) throw new RangeError(`not a type trustplane serves: ${typeUrl}`);
    this.#slots[i] = value;
  }

  *entries(): IterableIterator<[string, T]> {
    for (let i = 0; i < this.#slots.length; i++) {
      const v = this.#slots[i];
      if (v !== undefined) yield [PUSH_ORDER[i]!, v];
    }
  }
}
