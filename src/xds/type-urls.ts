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
 * A value per known type URL, by PUSH_ORDER; iterates in PUSH_ORDER. Nearly every stream and status record holds
 * one type (an SDS stream, Secret), so the first type set is kept inline and slots for the others are made only
 * when a second type arrives (a Map, or even an array of slots, costs more than the one value it would hold).
 */
export class PerType<T> {
  /** PUSH_ORDER index of the inline value; -1 while nothing is set. */
  #firstIndex = -1;
  #first: T | undefined = undefined;
  #rest: (T | undefined)[] | undefined = undefined;

  get(typeUrl: string): T | undefined {
    const i = PUSH_ORDER.indexOf(typeUrl);
    if (i < 0) return undefined;
    return i === this.#firstIndex ? this.#first : this.#rest?.[i];
  }

  set(typeUrl: string, value: T): void {
    const i = PUSH_ORDER.indexOf(typeUrl);
    if (i < 0) throw new RangeError(`not a type trustplane serves: ${typeUrl}`);
    if (this.#firstIndex < 0) this.#firstIndex = i;
    if (i === this.#firstIndex) {
      this.#first = value;
      return;
    }
    (this.#rest ??= new Array<T | undefined>(PUSH_ORDER.length))[i] = value;
  }

  /** Whether slots beyond the inline one were ever made (for tests that count what an idle stream holds). */
  get spilled(): boolean {
    return this.#rest !== undefined;
  }

  *entries(): IterableIterator<[string, T]> {
    for (let i = 0; i < PUSH_ORDER.length; i++) {
      const v = i === this.#firstIndex ? this.#first : this.#rest?.[i];
      if (v !== undefined) yield [PUSH_ORDER[i]!, v];
    }
  }
}
