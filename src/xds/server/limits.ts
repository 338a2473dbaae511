// What one caller may ask of the xDS server. Every input a proxy controls is bounded here, so the memory and the
// work a caller can cause are bounded by these numbers and nothing else (the fair scheduler bounds how much of
// that work runs before another caller's turn). A request over a limit is refused whole, before anything is
// applied: the stream ends with RESOURCE_EXHAUSTED (too many) or INVALID_ARGUMENT (too long), and a one-line
// message naming the limit, the value found and the setting that raises it.
import { status as grpcStatus } from '@grpc/grpc-js';
import { TrustplaneError } from '../../errors.js';

export interface XdsLimits {
  /** Names one request may carry: SotW resource_names, or Delta subscribe + unsubscribe together. */
  readonly namesPerRequest: number;
  /** Names one stream may be subscribed to, every type together. */
  readonly subscriptionsPerStream: number;
  /** UTF-8 bytes of every name one stream is subscribed to, together. */
  readonly subscriptionBytesPerStream: number;
  /** Open streams (SDS, ADS and CSDS, SotW and Delta) of one node principal. */
  readonly streamsPerPrincipal: number;
  /** UTF-8 bytes of one resource name (a SPIFFE ID is at most 2048 bytes). */
  readonly nameBytes: number;
  /** UTF-8 bytes of node.id and of node.cluster. */
  readonly nodeFieldBytes: number;
  /** gRPC's max receive message length on the xDS listeners: a larger request is refused by gRPC itself. */
  readonly requestBytes: number;
}

export const DEFAULT_XDS_LIMITS: XdsLimits = Object.freeze({
  namesPerRequest: 5_000,
  subscriptionsPerStream: 10_000,
  subscriptionBytesPerStream: 1024 * 1024,
  streamsPerPrincipal: 100,
  nameBytes: 2048,
  nodeFieldBytes: 1024,
  requestBytes: 1024 * 1024,
});

/** The `serve` flag (and ServeConfig.xdsLimits field) that sets each limit; one table for errors, help and docs. */
export const LIMIT_FLAGS: Readonly<Record<keyof XdsLimits, string>> = Object.freeze({
  namesPerRequest: '--xds-max-names-per-request',
  subscriptionsPerStream: '--xds-max-subscriptions-per-stream',
  subscriptionBytesPerStream: '--xds-max-subscription-bytes-per-stream',
  streamsPerPrincipal: '--xds-max-streams-per-principal',
  nameBytes: '--xds-max-name-bytes',
  nodeFieldBytes: '--xds-max-node-field-bytes',
  requestBytes: '--xds-max-request-bytes',
});

export class XdsLimitError extends TrustplaneError {
  constructor(
    code: string,
    message: string,
    /** The gRPC status the stream ends with. */
    readonly grpcCode: grpcStatus.RESOURCE_EXHAUSTED | grpcStatus.INVALID_ARGUMENT,
    /** Which limit refused it (the metric label). */
    readonly limit: keyof XdsLimits,
  ) {
    super(code, message);
  }

  /** What the caller is told: the stable code first, then the sentence. */
  get status(): { code: number; details: string } {
    return { code: this.grpcCode, details: `${this.code}: ${this.message}` };
  }
}

/** Fills the defaults in and checks each value is a positive integer. */
export function resolveLimits(partial: Partial<XdsLimits> = {}): XdsLimits {
  const out = { ...DEFAULT_XDS_LIMITS, ...partial };
  for (const [k, v] of Object.entries(out) as [keyof XdsLimits, number][]) {
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new TrustplaneError('XDS_LIMIT_INVALID', `${LIMIT_FLAGS[k]}: ${JSON.stringify(v)} is not accepted; a positive whole number is`);
    }
  }
  return Object.freeze(out);
}

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** How much of a caller's string a log line, an error or a status page shows. */
export const SHOWN_CHARS = 128;

/** A caller-controlled string as logs and status pages show it: at most SHOWN_CHARS, with how much was cut. */
export function shown(s: string, max = SHOWN_CHARS): string {
  return s.length <= max ? s : `${s.slice(0, max)}…(${s.length - max} more chars)`;
}

export function tooMany(what: string, found: number, limit: keyof XdsLimits, limits: XdsLimits): XdsLimitError {
  return new XdsLimitError(
    'XDS_LIMIT_EXCEEDED',
    `${what}: ${found}, over the limit of ${limits[limit]} (${LIMIT_FLAGS[limit]})`,
    grpcStatus.RESOURCE_EXHAUSTED,
    limit,
  );
}

export function tooLong(what: string, value: string, bytes: number, limit: keyof XdsLimits, limits: XdsLimits): XdsLimitError {
  return new XdsLimitError(
    'XDS_FIELD_TOO_LONG',
    `${what} ${JSON.stringify(shown(value, 64))} is ${bytes} bytes; at most ${limits[limit]} are accepted (${LIMIT_FLAGS[limit]})`,
    grpcStatus.INVALID_ARGUMENT,
    limit,
  );
}

/** Checks the names of one request: how many, and how long each is. */
export function checkRequestNames(typeName: string, names: readonly string[], limits: XdsLimits): void {
  if (names.length > limits.namesPerRequest) throw tooMany(`names in one ${typeName} request`, names.length, 'namesPerRequest', limits);
  for (const n of names) {
    // A UTF-16 code unit is at most 3 UTF-8 bytes: only a name that long needs measuring.
    if (n.length * 3 <= limits.nameBytes) continue;
    const bytes = utf8Bytes(n);
    if (bytes > limits.nameBytes) throw tooLong(`a requested ${typeName} name`, n, bytes, 'nameBytes', limits);
  }
}
