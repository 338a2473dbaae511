// What SotW and Delta streams share: the cached node, the proxy-status record, and the outbox. The outbox keeps
// at most one response in flight per stream (written but not yet flushed to the socket, so a proxy that stops
// reading holds back at most one) and remembers further work only as a set of dirty types. The response for a
// dirty type is built when it is its turn, from the state at that moment, so any number of changes while a
// proxy is slow coalesce into one up-to-date push per type: memory per stream stays bounded.
import type * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { NodeSchema, type Node } from '#gen/envoy/config/core/v3/base_pb';
import type { Clock } from '../clock.js';
import type { XdsLogger, XdsMetrics } from './observability.js';
import { principalToString, type NodePrincipal } from './principal.js';
import { ProxyRecord, type ProxyStatusRegistry } from './proxy-status.js';
import type { Resolution, ResourceResolver, StreamContext } from './resolution.js';
import type { Pumpable, PushScheduler } from './push-scheduler.js';
import type { ChangeListener, SubscriptionIndex } from './subscription-index.js';
import type { SubscriptionDelta } from './subscriptions.js';
import { isKnownType, PUSH_ORDER, TYPE_SECRET, typeName } from './type-urls.js';

export interface StreamDeps {
  readonly resolver: ResourceResolver;
  readonly index: SubscriptionIndex;
  readonly registry: ProxyStatusRegistry;
  /** Paces pushes caused by changes (a rotation reaching many streams); answers to requests go at once. */
  readonly scheduler: PushScheduler;
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

export abstract class XdsStream implements ChangeListener, Pumpable {
  protected ctx: StreamContext | undefined;
  protected record: ProxyRecord | undefined;
  readonly #dirty = new Map<string, number>();
  #inFlight = false;
  #awaitingDrain = false;
  #closed = false;
  #nonce = 0;
  readonly #warnedTypes = new Set<string>();
  /** Per type and name, why it was last left out, so each refusal is logged and counted once. */
  readonly #refused = new Map<string, Map<string, string>>();

  constructor(
    protected readonly call: grpc.ServerDuplexStream<unknown, Uint8Array>,
    protected readonly deps: StreamDeps,
    readonly principal: NodePrincipal,
    readonly service: 'ads' | 'sds',
    readonly variant: 'sotw' | 'delta',
  ) {}

  start(): void {
    this.deps.opened(this);
    this.call.on('data', (req: unknown) => {
      if (this.#closed) return;
      try {
        this.onRequest(req);
      } catch (err) {
        this.deps.logger.error({ err, stream: this.record?.identity.streamId }, 'xDS request handling failed; closing the stream');
        this.call.emit('error', { code: 13, details: 'internal error handling the request' });
      }
    });
    this.call.on('end', () => {
      this.call.end();
      this.#cleanup();
    });
    this.call.on('error', () => this.#cleanup());
    this.call.on('close', () => this.#cleanup());
    this.call.on('cancelled', () => this.#cleanup());
  }

  /** Ends the stream with OK, so the proxy reconnects (elsewhere, during a shutdown). */
  close(): void {
    if (this.#closed) return;
    this.call.end();
    this.#cleanup();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Something subscribed changed: the push goes out when the scheduler gets to this stream. */
  markDirty(typeUrl: string, at: number): void {
    if (this.#closed) return;
    const queued = this.#dirty.size > 0;
    if (!this.#dirty.has(typeUrl)) this.#dirty.set(typeUrl, at);
    // Already dirty means already queued or waiting on the outbox, which pumps again when it frees up.
    if (!queued) this.deps.scheduler.schedule(this);
  }

  pump(): void {
    this.#pump();
  }

  /** The proxy asked for something: answered at once. */
  protected requestedDirty(typeUrl: string, at: number): void {
    if (this.#closed) return;
    if (!this.#dirty.has(typeUrl)) this.#dirty.set(typeUrl, at);
    this.#pump();
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
    const n = node ?? create(NodeSchema);
    this.ctx = {
      principal: this.principal,
      node: n,
      group: n.cluster,
      spiffeCertValidation: !spiffeCertValidationDisabled(n),
    };
    this.record = new ProxyRecord({
      streamId: this.deps.nextStreamId(),
      nodeId: n.id,
      cluster: n.cluster,
      principal: principalToString(this.principal),
      service: this.service,
      variant: this.variant,
      connectedSince: this.now(),
    });
    this.deps.registry.add(this.record);
    this.deps.logger.info({ ...this.#logFields(), service: this.service, variant: this.variant }, 'xDS stream opened');
    return this.ctx;
  }

  /** The request's type, or undefined (logged once) when this service does not serve it. */
  protected acceptType(requested: string): string | undefined {
    const typeUrl = requested || (this.service === 'sds' ? TYPE_SECRET : '');
    if (isKnownType(typeUrl) && (this.service === 'ads' || typeUrl === TYPE_SECRET)) return typeUrl;
    if (!this.#warnedTypes.has(requested)) {
      this.#warnedTypes.add(requested);
      this.deps.logger.warn({ ...this.#logFields(), typeUrl: requested, service: this.service }, 'request for a type this service does not serve; ignored');
    }
    return undefined;
  }

  protected logNack(typeUrl: string, nonce: string, message: string): void {
    this.deps.metrics.nacked?.(typeName(typeUrl));
    this.record!.nack(typeUrl, nonce, message, this.now());
    this.deps.logger.warn({ ...this.#logFields(), type: typeName(typeUrl), nonce, error: message }, 'proxy rejected a response (NACK)');
  }

  /** Records a name that resolved to something other than a resource; refusals are logged and counted once. */
  protected noteAbsent(typeUrl: string, name: string, res: Exclude<Resolution, { kind: 'found' }>): void {
    if (res.kind === 'missing') {
      this.#refused.get(typeUrl)?.delete(name);
      this.record!.absent(typeUrl, name, 'NOT_FOUND');
      return;
    }
    let byName = this.#refused.get(typeUrl);
    if (!byName) this.#refused.set(typeUrl, (byName = new Map()));
    if (byName.get(name) === res.reason) return;
    byName.set(name, res.reason);
    const reason = res.kind === 'denied' ? 'denied' : 'unknown';
    this.deps.metrics.nameRejected?.(typeName(typeUrl), reason);
    this.record!.absent(typeUrl, name, res.kind === 'denied' ? 'DENIED' : 'INVALID', res.reason);
    this.deps.logger.warn({ ...this.#logFields(), type: typeName(typeUrl), name, reason: res.reason }, `requested ${typeName(typeUrl)} left out: ${reason}`);
  }

  protected noteFound(typeUrl: string, name: string): void {
    this.#refused.get(typeUrl)?.delete(name);
  }

  protected noteUnsubscribed(typeUrl: string, name: string): void {
    this.#refused.get(typeUrl)?.delete(name);
    this.record?.forget(typeUrl, name);
  }

  /** Routes future changes by a subscription change: the index learns the names (and wildcard) this stream wants. */
  protected subscriptionChanged(typeUrl: string, delta: SubscriptionDelta, wildcard: boolean): void {
    const { index } = this.deps;
    for (const n of delta.added) index.add(this, typeUrl, n);
    for (const n of delta.removed) {
      index.remove(this, typeUrl, n);
      this.noteUnsubscribed(typeUrl, n);
    }
    if (delta.wildcardChanged) index.setWildcard(this, typeUrl, wildcard);
  }

  #logFields(): Record<string, string> {
    const id = this.record?.identity;
    return { node: id?.nodeId ?? '', cluster: id?.cluster ?? '', principal: principalToString(this.principal), stream: id?.streamId ?? '' };
  }

  #pump(): void {
    while (!this.#inFlight && !this.#awaitingDrain && !this.#closed) {
      const typeUrl = PUSH_ORDER.find((t) => this.#dirty.has(t));
      if (typeUrl === undefined) return;
      const since = this.#dirty.get(typeUrl)!;
      this.#dirty.delete(typeUrl);
      const bytes = this.build(typeUrl);
      if (!bytes) continue;
      this.#inFlight = true;
      const type = typeName(typeUrl);
      this.deps.metrics.pushed?.(type);
      const ok = this.call.write(bytes, () => {
        this.#inFlight = false;
        this.deps.metrics.pushSeconds?.(type, Math.max(0, this.now() - since) / 1000);
        this.#pump();
      });
      if (!ok) {
        this.#awaitingDrain = true;
        this.call.once('drain', () => {
          this.#awaitingDrain = false;
          this.#pump();
        });
      }
    }
  }

  #cleanup(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#dirty.clear();
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
