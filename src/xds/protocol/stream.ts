// What SotW and Delta streams share: the cached node, the proxy-status record, the limits on what a caller may
// ask, and the outbox. The outbox keeps at most one response in flight per stream (written but not yet flushed
// to the socket, so a proxy that stops reading holds back at most one) and remembers further work only as a set
// of dirty types. The response for a dirty type is built when the fair scheduler gives this stream its turn,
// from the state at that moment, so any number of changes while a proxy is slow coalesce into one up-to-date
// push per type: memory per stream stays bounded, and so does the work one caller can queue ahead of another.
import type * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { NodeSchema, type Node } from '#gen/envoy/config/core/v3/base_pb';
import type { Clock } from '../../clock.js';
import { PUSH_COST, type FairScheduler, type Pumpable } from '../server/fair-scheduler.js';
import { checkRequestNames, shown, tooLong, tooMany, utf8Bytes, XdsLimitError, type XdsLimits } from '../server/limits.js';
import type { Answer } from './nack.js';
import type { XdsLogger, XdsMetrics } from '../server/observability.js';
import { principalToString, type NodePrincipal } from '../principal.js';
import { LeftOutSummary, ProxyRecord, type ProxyStatusRegistry } from '../status/proxy-status.js';
import type { NodeView, Resolution, ResourceResolver, StreamContext } from './resolution.js';
import type { ChangeListener, SubscriptionIndex } from './subscription-index.js';
import type { SubscriptionDelta } from './subscriptions.js';
import { isKnownType, PUSH_ORDER, TYPE_SECRET, typeName } from '../type-urls.js';

export interface StreamDeps {
  readonly resolver: ResourceResolver;
  readonly index: SubscriptionIndex;
  readonly registry: ProxyStatusRegistry;
  /** Runs every push, answers to requests included: round-robin between callers, a budget per event-loop turn. */
  readonly scheduler: FairScheduler;
  readonly limits: XdsLimits;
  readonly clock: Clock;
  readonly logger: XdsLogger;
  readonly metrics: XdsMetrics;
  nextStreamId(): string;
  opened(s: XdsStream): void;
  closed(s: XdsStream): void;
}

/** Node metadata `disable_spiffe_cert_validation`: true or "true" (SPIRE's convention). */
export function spiffeCertValidationDisabled(node: Node): boolean {
  const v = node.metadata?.['disable_spiffe_cert_validation'];
  return v === true || (typeof v === 'string' && v.toLowerCase() === 'true');
}

/** Checks node.id and node.cluster against the limits (from the first request of a stream, or FetchSecrets). */
export function checkNode(node: Node | undefined, limits: XdsLimits): void {
  if (!node) return;
  for (const [field, value] of [['node.id', node.id], ['node.cluster', node.cluster]] as const) {
    if (value.length * 3 <= limits.nodeFieldBytes) continue;
    const bytes = utf8Bytes(value);
    if (bytes > limits.nodeFieldBytes) throw tooLong(field, value, bytes, 'nodeFieldBytes', limits);
  }
}

/** Versions trustplane sends are 16 hex digits: anything much longer a proxy echoes cannot match and is not kept. */
const MAX_ECHOED_VERSION = 64;
export const keptVersion = (v: string): string => (v.length <= MAX_ECHOED_VERSION ? v : '');

/** Unknown type URLs logged per stream; the rest are ignored silently. */
const MAX_WARNED_TYPES = 4;

/** Refusals of one build that were not logged before, as one log line. */
class RefusalLog {
  readonly counts = { denied: 0, unknown: 0 };
  readonly sample: { name: string; reason: string }[] = [];
  /** `res.reason` is read only for the sample: working it out may cost more than the rest. */
  add(name: string, kind: 'denied' | 'unknown', res: { readonly reason: string }): void {
    this.counts[kind]++;
    if (this.sample.length < 5) this.sample.push({ name: shown(name), reason: shown(res.reason, 256) });
  }
  get total(): number {
    return this.counts.denied + this.counts.unknown;
  }
}

/** What the resolver reads of a stream: one object per stream, which is also its node (id and cluster). */
class NodeContext implements StreamContext, NodeView {
  constructor(
    readonly principal: NodePrincipal,
    readonly id: string,
    readonly cluster: string,
    readonly spiffeCertValidation: boolean,
  ) {}

  get node(): NodeView {
    return this;
  }

  /** Listeners, clusters, routes and endpoints are grouped by the node's cluster (service name). */
  get group(): string {
    return this.cluster;
  }
}

export abstract class XdsStream implements ChangeListener, Pumpable {
  protected ctx: StreamContext | undefined;
  protected record: ProxyRecord | undefined;
  readonly owner: string;
  /**
   * When each type (by PUSH_ORDER index) became dirty; NaN when it is not. A few doubles, not a Map per stream;
   * made when a type becomes dirty and dropped when none is, so an idle stream holds none.
   */
  #dirtySince: number[] | undefined;
  #dirtyCount = 0;
  #queued = false;
  #inFlight = false;
  #awaitingDrain = false;
  #closed = false;
  #nonce = 0;
  /** Names resolved since the last pump: what this stream's push cost. */
  #work = 0;
  #warnedTypes = 0;
  /** Per type, the names left out as refused (by kind), so each refusal is logged and counted once. */
  #refused: Map<string, Map<string, 'denied' | 'invalid'>> | undefined;
  #building: { summary: LeftOutSummary; log: RefusalLog } | undefined;
  /** Every name subscribed, all types together: count and UTF-8 bytes. */
  #subscribed = 0;
  #subscribedBytes = 0;

  constructor(
    protected readonly call: grpc.ServerDuplexStream<unknown, Uint8Array>,
    protected readonly deps: StreamDeps,
    readonly principal: NodePrincipal,
    readonly service: 'ads' | 'sds',
    readonly variant: 'sotw' | 'delta',
  ) {
    this.owner = principalToString(principal);
  }

  start(): void {
    this.deps.opened(this);
    this.call.on('data', (req: unknown) => {
      if (this.#closed) return;
      try {
        this.onRequest(req);
      } catch (err) {
        if (err instanceof XdsLimitError) {
          this.refuse(err);
          return;
        }
        this.deps.logger.error({ err, stream: this.record?.identity.streamId }, 'xDS request handling failed; closing the stream');
        this.call.emit('error', { code: 13, details: 'internal error handling the request' });
        this.#cleanup();
      }
    });
    this.call.on('end', () => {
      this.call.end();
      this.#cleanup();
    });
    // A cancelled call (the proxy went away) is destroyed by grpc-js right after its 'cancelled' event, so 'close'
    // covers it: one listener fewer per stream, and the call's own table of events stays within its object.
    const gone = (): void => this.#cleanup();
    this.call.on('error', gone);
    this.call.on('close', gone);
  }

  /** Ends the stream with OK, so the proxy reconnects (elsewhere, during a shutdown). */
  close(): void {
    if (this.#closed) return;
    this.call.end();
    this.#cleanup();
  }

  /** Ends the stream with the limit's status; nothing of the request was applied. */
  refuse(err: XdsLimitError): void {
    if (this.#closed) return;
    this.deps.metrics.refused?.(err.limit);
    this.deps.logger.warn({ ...this.#logFields(), code: err.code, error: err.message }, 'xDS request refused; the stream is ended');
    this.call.emit('error', err.status);
    this.#cleanup();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The cache group this stream is served from (node.cluster), once its first request named it. */
  get group(): string | undefined {
    return this.ctx?.group;
  }

  /** Something subscribed changed: the push goes out when the scheduler gets to this stream. */
  markDirty(typeUrl: string, at: number): void {
    if (this.#closed) return;
    const i = PUSH_ORDER.indexOf(typeUrl);
    if (i < 0) return;
    const dirty = (this.#dirtySince ??= PUSH_ORDER.map(() => NaN));
    if (Number.isNaN(dirty[i]!)) {
      dirty[i] = at;
      this.#dirtyCount++;
    }
    this.#schedule();
  }

  /** The proxy asked for something: answered as soon as the scheduler allows (at once, unless it is busy). */
  protected requestedDirty(typeUrl: string, at: number): void {
    this.markDirty(typeUrl, at);
  }

  pump(): number {
    this.#queued = false;
    this.#work = 0;
    this.#pumpOne();
    return PUSH_COST + this.#work;
  }

  protected abstract onRequest(req: unknown): void;
  /** The response for a dirty type from the current state, or undefined when there is nothing to say. */
  protected abstract build(typeUrl: string): Uint8Array | undefined;
  /** Subscribed names of every type, for removal from the index when the stream ends. */
  protected abstract subscriptions(): Iterable<[typeUrl: string, names: Iterable<string>, wildcard: boolean]>;

  protected nextNonce(): string {
    return (++this.#nonce).toString(36);
  }

  protected now(): number {
    return this.deps.clock.now();
  }

  /** Caches the node from the first request; later requests may omit it and their node is ignored. */
  protected context(node: Node | undefined): StreamContext {
    if (this.ctx) return this.ctx;
    checkNode(node, this.deps.limits);
    const n = node ?? create(NodeSchema);
    // Only what is read later: the request (and its node metadata) is not held for the stream's lifetime.
    this.ctx = new NodeContext(this.principal, n.id, n.cluster, !spiffeCertValidationDisabled(n));
    this.record = new ProxyRecord({
      streamId: this.deps.nextStreamId(),
      nodeId: n.id,
      cluster: n.cluster,
      principal: this.owner,
      service: this.service,
      variant: this.variant,
      connectedSince: this.now(),
    });
    this.deps.registry.add(this.record);
    this.deps.logger.info({ ...this.#logFields(), service: this.service, variant: this.variant }, 'xDS stream opened');
    return this.ctx;
  }

  /** Checks the names of one request before anything of it is applied. */
  protected checkNames(typeUrl: string, names: readonly string[]): void {
    checkRequestNames(typeName(typeUrl), names, this.deps.limits);
  }

  /** The request's type, or undefined (logged for the first few) when this service does not serve it. */
  protected acceptType(requested: string): string | undefined {
    const typeUrl = requested || (this.service === 'sds' ? TYPE_SECRET : '');
    if (isKnownType(typeUrl) && (this.service === 'ads' || typeUrl === TYPE_SECRET)) return typeUrl;
    if (this.#warnedTypes < MAX_WARNED_TYPES) {
      this.#warnedTypes++;
      this.deps.logger.warn({ ...this.#logFields(), typeUrl: shown(requested), service: this.service }, 'request for a type this service does not serve; ignored');
    }
    return undefined;
  }

  /** Records what a request said about a response (nack.ts decides which): the status, a NACK's log and metric. */
  protected answered(typeUrl: string, answer: Answer): void {
    if (answer.kind === 'ack') {
      this.record!.ack(typeUrl, answer.nonce, this.now());
    } else if (answer.kind === 'nack') {
      const error = shown(answer.message, 1024);
      this.deps.metrics.nacked?.(typeName(typeUrl));
      this.record!.nack(typeUrl, answer.nonce, error, this.now());
      this.deps.logger.warn({ ...this.#logFields(), type: typeName(typeUrl), nonce: answer.nonce, error }, 'proxy rejected a response (NACK)');
    }
  }

  /** Starts resolving the names of one response: left-out names are tallied until endBuild. */
  protected beginBuild(names: number): void {
    this.#work += names;
    this.#building = { summary: new LeftOutSummary(), log: new RefusalLog() };
  }

  /** Records a name that resolved to something other than a resource. */
  protected noteAbsent(typeUrl: string, name: string, res: Exclude<Resolution, { kind: 'found' }>): void {
    this.record!.forget(typeUrl, name);
    const b = this.#building!;
    if (res.kind === 'missing') {
      this.#refused?.get(typeUrl)?.delete(name);
      b.summary.add(name, 'NOT_FOUND');
      return;
    }
    b.summary.add(name, res.kind === 'denied' ? 'DENIED' : 'INVALID', res);
    this.#refused ??= new Map();
    let byName = this.#refused.get(typeUrl);
    if (!byName) this.#refused.set(typeUrl, (byName = new Map()));
    if (byName.get(name) === res.kind) return;
    byName.set(name, res.kind);
    b.log.add(name, res.kind === 'denied' ? 'denied' : 'unknown', res);
  }

  protected noteFound(typeUrl: string, name: string): void {
    this.#refused?.get(typeUrl)?.delete(name);
  }

  /** Ends a build: the status keeps a bounded summary, and new refusals make one log line, not one per name. */
  protected endBuild(typeUrl: string): void {
    const b = this.#building!;
    this.#building = undefined;
    this.record!.leftOut(typeUrl, b.summary);
    const { log } = b;
    if (log.total === 0) return;
    const type = typeName(typeUrl);
    if (log.counts.denied) this.deps.metrics.nameRejected?.(type, 'denied', log.counts.denied);
    if (log.counts.unknown) this.deps.metrics.nameRejected?.(type, 'unknown', log.counts.unknown);
    this.deps.logger.warn(
      { ...this.#logFields(), type, leftOut: log.counts, sample: log.sample },
      `${log.total} requested ${type} name${log.total === 1 ? '' : 's'} left out (denied ${log.counts.denied}, unknown ${log.counts.unknown})`,
    );
  }

  protected noteUnsubscribed(typeUrl: string, name: string): void {
    this.#refused?.get(typeUrl)?.delete(name);
    this.record?.forget(typeUrl, name);
  }

  /**
   * Routes future changes by a subscription change: the index learns the names (and wildcard) this stream wants.
   * Over the per-stream limits, throws before the index learns anything; the stream is then ended whole.
   */
  protected subscriptionChanged(typeUrl: string, delta: SubscriptionDelta, wildcard: boolean): void {
    const { index, limits } = this.deps;
    let bytes = 0;
    for (const n of delta.added) bytes += n.length * 3 <= 64 ? n.length : utf8Bytes(n);
    for (const n of delta.removed) bytes -= n.length * 3 <= 64 ? n.length : utf8Bytes(n);
    this.#subscribed += delta.added.length - delta.removed.length;
    this.#subscribedBytes += bytes;
    if (this.#subscribed > limits.subscriptionsPerStream) throw tooMany('names subscribed on one stream', this.#subscribed, 'subscriptionsPerStream', limits);
    if (this.#subscribedBytes > limits.subscriptionBytesPerStream) throw tooMany('bytes of names subscribed on one stream', this.#subscribedBytes, 'subscriptionBytesPerStream', limits);
    for (const n of delta.added) index.add(this, typeUrl, n);
    for (const n of delta.removed) {
      index.remove(this, typeUrl, n);
      this.noteUnsubscribed(typeUrl, n);
    }
    if (delta.wildcardChanged) index.setWildcard(this, typeUrl, wildcard);
  }

  #logFields(): Record<string, string> {
    const id = this.record?.identity;
    return { node: shown(id?.nodeId ?? ''), cluster: shown(id?.cluster ?? ''), principal: this.owner, stream: id?.streamId ?? '' };
  }

  #schedule(): void {
    if (this.#queued || this.#inFlight || this.#awaitingDrain || this.#dirtyCount === 0) return;
    this.#queued = true;
    this.deps.scheduler.schedule(this);
  }

  /** Writes the first dirty type (in push order) that has something to say; one response per turn of the stream. */
  #pumpOne(): void {
    while (!this.#inFlight && !this.#awaitingDrain && !this.#closed && this.#dirtyCount > 0) {
      const dirty = this.#dirtySince!;
      const i = dirty.findIndex((t) => !Number.isNaN(t));
      const typeUrl = PUSH_ORDER[i]!;
      const since = dirty[i]!;
      dirty[i] = NaN;
      if (--this.#dirtyCount === 0) this.#dirtySince = undefined;
      const bytes = this.build(typeUrl);
      if (!bytes) continue;
      this.#inFlight = true;
      const type = typeName(typeUrl);
      this.deps.metrics.pushed?.(type);
      const ok = this.call.write(bytes, () => {
        this.#inFlight = false;
        this.deps.metrics.pushSeconds?.(type, Math.max(0, this.now() - since) / 1000);
        this.#schedule();
      });
      if (!ok) {
        this.#awaitingDrain = true;
        this.call.once('drain', () => {
          this.#awaitingDrain = false;
          this.#schedule();
        });
      }
    }
  }

  #cleanup(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#dirtySince = undefined;
    this.#dirtyCount = 0;
    for (const [typeUrl, names, wildcard] of this.subscriptions()) {
      for (const n of names) this.deps.index.remove(this, typeUrl, n);
      if (wildcard) this.deps.index.setWildcard(this, typeUrl, false);
    }
    if (this.record) {
      this.deps.registry.remove(this.record);
      this.deps.logger.info(this.#logFields(), 'xDS stream closed');
    }
    this.deps.closed(this);
  }
}
