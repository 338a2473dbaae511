// envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs on the xDS server's listeners (Unix sockets and mTLS
// TCP alike, with the same authenticator as xDS). Client streaming: the first message carries the identifier
// {node, log_name}, later ones batches of TCP or HTTP entries; the server answers once, when the proxy ends the
// stream. Everything a proxy sends is bounded: message size, entries per batch, open streams per principal.
// Entries count only for ports of services the stream's principal may hold; the rest are refused and counted.
import * as grpc from '@grpc/grpc-js';
import { toBinary } from '@bufbuild/protobuf';
import type { Node } from '#gen/envoy/config/core/v3/base_pb';
import { StreamAccessLogsResponseSchema } from '#gen/envoy/service/accesslog/v3/als_pb';
import type { Clock, TimerHandle } from '../clock.js';
import type { CallAuthenticator, NodePrincipal } from '../xds/principal.js';
import { principalToString } from '../xds/principal.js';
import { classify, type RefusalReason } from './classify.js';
import { readAccessLogMessage, type ReadMessage } from './entry-reader.js';
import type { TrafficEvidence } from './evidence.js';

export const ALS_METHOD_PATH = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';

export interface AlsLimits {
  /** Largest message accepted, in bytes (Envoy's default buffer is 16 KiB; it flushes before that). */
  readonly maxMessageBytes: number;
  readonly maxEntriesPerBatch: number;
  /** Envoy opens one stream per logger configuration and worker thread, so a proxy holds several. */
  readonly maxStreamsPerPrincipal: number;
  /**
   * Entries per second per principal, on average (a burst of one second's worth). Above it the principal's
   * streams are paused until it is back under, so gRPC flow control slows the proxy down: nothing is dropped
   * (dropped entries could hide plaintext), and one principal cannot take the receiver from the others.
   */
  readonly maxEntriesPerSecond: number;
}

export const DEFAULT_ALS_LIMITS: AlsLimits = { maxMessageBytes: 1024 * 1024, maxEntriesPerBatch: 10_000, maxStreamsPerPrincipal: 256, maxEntriesPerSecond: 100_000 };

/** A principal's entry budget: refills at the rate, holds at most one second's worth, may go negative (debt). */
class EntryBudget {
  #tokens: number;
  #at: number;
  constructor(
    readonly rate: number,
    now: number,
  ) {
    this.#tokens = rate;
    this.#at = now;
  }
  /** Takes n entries; returns how long to wait (ms) before reading more, 0 when within budget. */
  take(n: number, now: number): number {
    if (this.rate === Infinity) return 0;
    this.#tokens = Math.min(this.rate, this.#tokens + ((now - this.#at) * this.rate) / 1000);
    this.#at = now;
    this.#tokens -= n;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.rate);
  }
}

export interface AlsHooks {
  /** Entries counted, per batch. */
  accepted?(count: number): void;
  /** Entries left out, per batch and reason. */
  refused?(reason: RefusalReason, count: number): void;
  /** A stream ended with an error status for what it sent (bounds, malformed messages). */
  streamRejected?(reason: 'too_large' | 'too_many_entries' | 'too_many_streams' | 'malformed' | 'no_identifier' | 'unauthenticated'): void;
  openStreams?(count: number): void;
  /** A stream was paused for going over its principal's entries per second. */
  throttled?(): void;
}

export interface AlsLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface AccessLogReceiverOptions {
  readonly evidence: TrafficEvidence;
  readonly clock: Clock;
  /** Whether this principal may hold the service (its listeners' entries are its to send). */
  mayReport(principal: NodePrincipal, service: string): boolean;
  readonly limits?: Partial<AlsLimits>;
  readonly hooks?: AlsHooks;
  readonly logger: AlsLogger;
}

// Requests are taken as raw bytes so that their size is checked before anything is decoded.
const accessLogService: grpc.ServiceDefinition = {
  StreamAccessLogs: {
    path: ALS_METHOD_PATH,
    requestStream: true,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Uint8Array) => Buffer.from(b),
    responseDeserialize: (b: Buffer) => b,
  },
};

/** Distinct refusals logged per stream; later ones are only counted. */
const MAX_LOGGED_REFUSALS = 32;
/** Services whose authorization a stream caches; past it the cache starts afresh. */
const MAX_CACHED_SERVICES = 1024;

const EMPTY_RESPONSE = toBinary(StreamAccessLogsResponseSchema, { $typeName: 'envoy.service.accesslog.v3.StreamAccessLogsResponse' });

export class AccessLogReceiver {
  readonly limits: AlsLimits;
  readonly #opts: AccessLogReceiverOptions;
  readonly #streamsByPrincipal = new Map<string, number>();
  readonly #budgets = new Map<string, EntryBudget>();
  #open = 0;
  /** Ends each open stream; for shutdown. */
  readonly #enders = new Set<() => void>();
  #closed = false;
  /** Bumped when the mesh changes: per-stream authorization caches start afresh. */
  #generation = 0;

  constructor(opts: AccessLogReceiverOptions) {
    this.#opts = opts;
    this.limits = { ...DEFAULT_ALS_LIMITS, ...opts.limits };
  }

  /**
   * Ends every open stream with UNAVAILABLE and takes no more, so that proxies flush to another control plane at
   * once instead of holding the shutdown for the whole drain time.
   */
  close(): void {
    this.#closed = true;
    for (const end of [...this.#enders]) end();
  }

  /** The mesh (and so who may hold what) changed. */
  policyChanged(): void {
    this.#generation++;
  }

  addTo(server: grpc.Server, authenticator: CallAuthenticator): void {
    server.addService(accessLogService, {
      StreamAccessLogs: (call: grpc.ServerReadableStream<Buffer, Uint8Array>, cb: grpc.sendUnaryData<Uint8Array>) => this.#stream(call, cb, authenticator),
    });
  }

  #stream(call: grpc.ServerReadableStream<Buffer, Uint8Array>, cb: grpc.sendUnaryData<Uint8Array>, authenticator: CallAuthenticator): void {
    const hooks = this.#opts.hooks ?? {};
    const log = this.#opts.logger;
    const principal = authenticator.authenticate(call);
    if (!principal) {
      hooks.streamRejected?.('unauthenticated');
      cb({ code: grpc.status.PERMISSION_DENIED, details: 'the caller has no node principal; access-log streams need an authenticated node' });
      return;
    }
    if (this.#closed) {
      cb({ code: grpc.status.UNAVAILABLE, details: 'the control plane is shutting down; send access logs to another one' });
      return;
    }
    const who = principalToString(principal);
    const open = this.#streamsByPrincipal.get(who) ?? 0;
    if (open >= this.limits.maxStreamsPerPrincipal) {
      hooks.streamRejected?.('too_many_streams');
      log.warn({ event: 'access_log_stream_rejected', principal: who, reason: 'too_many_streams', limit: this.limits.maxStreamsPerPrincipal }, 'access-log stream refused: too many open streams for this principal');
      cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: `principal ${who} already has ${open} access-log streams open (limit ${this.limits.maxStreamsPerPrincipal})` });
      return;
    }
    this.#streamsByPrincipal.set(who, open + 1);
    hooks.openStreams?.(++this.#open);
    let budget = this.#budgets.get(who);
    if (!budget) this.#budgets.set(who, (budget = new EntryBudget(this.limits.maxEntriesPerSecond, this.#opts.clock.now())));
    let resume: TimerHandle | undefined;

    let done = false;
    let node: Node | undefined;
    let logName = '';
    /** service → may this stream report it; cleared when the mesh changes. */
    let allowed = new Map<string, boolean>();
    let generation = this.#generation;
    /**
     * Refusals already logged on this stream, by reason and service (logged once each, then only counted). Tags
     * are the proxy's word: both sets are bounded, so made-up service names cannot grow them or flood the log.
     */
    const logged = new Set<string>();
    const firstTime = (key: string): boolean => {
      if (logged.has(key) || logged.size >= MAX_LOGGED_REFUSALS) return false;
      logged.add(key);
      return true;
    };
    const evidence = this.#opts.evidence;

    const release = (): void => {
      if (done) return;
      done = true;
      this.#enders.delete(shutdown);
      resume?.cancel();
      const n = (this.#streamsByPrincipal.get(who) ?? 1) - 1;
      if (n === 0) {
        this.#streamsByPrincipal.delete(who);
        this.#budgets.delete(who);
      } else this.#streamsByPrincipal.set(who, n);
      hooks.openStreams?.(--this.#open);
    };
    const fail = (reason: Parameters<NonNullable<AlsHooks['streamRejected']>>[0], code: grpc.status, details: string): void => {
      if (done) return;
      hooks.streamRejected?.(reason);
      log.warn({ event: 'access_log_stream_rejected', principal: who, nodeId: node?.id, reason }, `access-log stream ended: ${details}`);
      release();
      cb({ code, details });
      // Stop reading: what the proxy sends after this is not looked at.
      call.removeAllListeners('data');
      call.on('data', () => {});
    };

    const shutdown = (): void => {
      if (done) return;
      release();
      cb({ code: grpc.status.UNAVAILABLE, details: 'the control plane is shutting down; send access logs to another one' });
    };
    this.#enders.add(shutdown);

    call.on('data', (bytes: Buffer) => {
      if (done) return;
      if (bytes.length > this.limits.maxMessageBytes) {
        fail('too_large', grpc.status.RESOURCE_EXHAUSTED, `a message of ${bytes.length} bytes is over the limit of ${this.limits.maxMessageBytes}`);
        return;
      }
      let msg: ReadMessage;
      try {
        msg = readAccessLogMessage(bytes);
      } catch (err) {
        fail('malformed', grpc.status.INVALID_ARGUMENT, `a message is not a StreamAccessLogsMessage (${(err as Error).message})`);
        return;
      }
      if (msg.identifier) {
        node = msg.identifier.node;
        logName = msg.identifier.logName;
        if (!node || logName === '') {
          fail('no_identifier', grpc.status.INVALID_ARGUMENT, 'the identifier needs a node and a log_name');
          return;
        }
        log.debug({ event: 'access_log_stream_opened', principal: who, nodeId: node.id, cluster: node.cluster, logName }, 'access-log stream opened');
      } else if (!node) {
        fail('no_identifier', grpc.status.INVALID_ARGUMENT, 'the first message of an access-log stream must carry the identifier {node, log_name}');
        return;
      }
      const list = msg.entries;
      if (list.length === 0) return;
      if (list.length > this.limits.maxEntriesPerBatch) {
        fail('too_many_entries', grpc.status.RESOURCE_EXHAUSTED, `a batch of ${list.length} entries is over the limit of ${this.limits.maxEntriesPerBatch}`);
        return;
      }
      if (generation !== this.#generation) {
        generation = this.#generation;
        allowed = new Map();
      }
      // One time for the batch: Envoy sends what it buffered over about a second.
      const now = this.#opts.clock.now();
      let accepted = 0;
      let untagged = 0;
      let unknownPort = 0;
      let notHolder = 0;
      for (const entry of list) {
        const c = classify(entry);
        if (typeof c === 'string') {
          untagged++;
          continue;
        }
        let may = allowed.get(c.service);
        if (may === undefined) {
          may = this.#opts.mayReport(principal, c.service);
          if (allowed.size >= MAX_CACHED_SERVICES) allowed.clear();
          allowed.set(c.service, may);
        }
        if (!may) {
          notHolder++;
          if (firstTime(`not_holder ${c.service}`)) {
            log.warn({ event: 'access_log_entries_refused', principal: who, nodeId: node.id, logName, service: c.service, reason: 'not_holder' }, 'access-log entries refused: the principal may not hold this service');
          }
          continue;
        }
        if (!evidence.record(c.service, c.port, c.kind, c.source, now)) {
          unknownPort++;
          if (firstTime(`unknown_port ${c.service}:${c.port}`)) {
            log.warn({ event: 'access_log_entries_refused', principal: who, nodeId: node.id, logName, service: c.service, port: c.port, reason: 'unknown_port' }, 'access-log entries refused: the mesh declares no such inbound port');
          }
          continue;
        }
        accepted++;
      }
      if (untagged > 0 && firstTime('untagged')) {
        log.warn({ event: 'access_log_entries_refused', principal: who, nodeId: node.id, logName, reason: 'untagged' }, 'access-log entries refused: no trustplane service and port tags (not a listener trustplane generated)');
      }
      // Over the principal's rate: read nothing more on this stream until the budget is back.
      const wait = budget.take(list.length, now);
      if (wait > 0 && !done) {
        call.pause();
        hooks.throttled?.();
        resume = this.#opts.clock.setTimer(wait, () => {
          resume = undefined;
          if (!done) call.resume();
        });
      }
      if (accepted) hooks.accepted?.(accepted);
      if (untagged) hooks.refused?.('untagged', untagged);
      if (unknownPort) hooks.refused?.('unknown_port', unknownPort);
      if (notHolder) hooks.refused?.('not_holder', notHolder);
    });
    call.on('end', () => {
      if (done) return;
      release();
      cb(null, EMPTY_RESPONSE);
    });
    call.on('error', () => release());
    call.on('cancelled', () => release());
  }
}
