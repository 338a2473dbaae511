// What the xDS server reports about itself. Both are optional hooks so the protocol code stays free of
// prom-client and logger setup; the lead wires them. Labels are bounded: a type name or a reason, never a node.

/** Prometheus-style hooks. `type` is a short type name such as `Secret` or `Cluster`. */
export interface XdsMetrics {
  /** Number of streams currently open (set on every change). */
  connectedProxies?(count: number): void;
  /** One response written. */
  pushed?(type: string): void;
  /** One NACK received. */
  nacked?(type: string): void;
  /** Requested names left out (`count` of them, default 1): not a valid name for the type, or not allowed. */
  nameRejected?(type: string, reason: 'unknown' | 'denied', count?: number): void;
  /** A stream or request refused by a limit (`limit` is its XdsLimits key, e.g. namesPerRequest). */
  refused?(limit: string): void;
  /** From a change (or request) that made a response necessary to that response being written to the stream. */
  pushSeconds?(type: string, seconds: number): void;
}

/** The subset of a pino logger the server uses. */
export interface XdsLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const noop = (): void => {};
export const silentLogger: XdsLogger = { debug: noop, info: noop, warn: noop, error: noop };
