// The xDS protocol server: registers SDS, ADS and CSDS on a grpc.Server built by the transport, routes identity
// store and resource cache changes to the streams subscribed to them, and exposes the proxy status.
import * as grpc from '@grpc/grpc-js';
import { toBinary } from '@bufbuild/protobuf';
import type { DiscoveryRequest } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { ClientStatusResponseSchema, type ClientStatusRequest } from '#gen/envoy/service/status/v3/csds_pb';
import type { Clock } from '../../clock.js';
import type { IdentityStore, StoreChange } from '../../store/identity-store.js';
import { clientStatusResponse, CsdsRequestError } from '../status/csds.js';
import { DeltaStream } from '../protocol/delta.js';
import { fetchSecrets } from '../protocol/fetch.js';
import { silentLogger, type XdsLogger, type XdsMetrics } from './observability.js';
import type { IdentityPolicy } from '../policy.js';
import { principalToString, type CallAuthenticator, type NodePrincipal } from '../principal.js';
import { FairScheduler, PUSH_COST, type SchedulerStats } from './fair-scheduler.js';
import { checkRequestNames, resolveLimits, tooMany, XdsLimitError, type XdsLimits } from './limits.js';
import { ProxyStatusRegistry, type ProxyIdentity, type ProxyStatusEvent, type ProxyStatusSnapshot } from '../status/proxy-status.js';
import type { ResourceCache, ResourceChange } from '../cache/resource-cache.js';
import type { ProxyRecord } from '../status/proxy-status.js';
import { CombinedResolver } from './resolver.js';
import { SecretSource } from '../secrets/secrets.js';
import { aggregatedDiscoveryService, clientStatusDiscoveryService, secretDiscoveryService } from './services.js';
import { SotwStream } from '../protocol/sotw.js';
import { checkNode, type StreamDeps, type XdsStream } from '../protocol/stream.js';
import { SubscriptionIndex } from '../protocol/subscription-index.js';
import { CONFIG_TYPES, TYPE_SECRET } from '../type-urls.js';

export interface XdsServerOptions {
  readonly store: IdentityStore;
  readonly resources: ResourceCache;
  readonly policy: IdentityPolicy;
  readonly clock: Clock;
  readonly logger?: XdsLogger;
  readonly metrics?: XdsMetrics;
  /** What one caller may ask; DEFAULT_XDS_LIMITS for whatever is not given. */
  readonly limits?: Partial<XdsLimits>;
}

type Duplex = grpc.ServerDuplexStream<unknown, Uint8Array>;
/** What a live proxy record offers to readers outside the protocol (the rollout's counts). */
export type ProxyRecordView = Pick<ProxyRecord, 'streamId' | 'nodeId' | 'cluster' | 'principal' | 'service' | 'resource'>;

const denied = { code: grpc.status.PERMISSION_DENIED, details: 'the caller has no node principal; xDS streams need an authenticated node' };
const shuttingDown = { code: grpc.status.UNAVAILABLE, details: 'the xDS server is shutting down; reconnect to another one' };

export class XdsServer {
  readonly #index = new SubscriptionIndex();
  readonly #registry = new ProxyStatusRegistry();
  readonly #streams = new Set<XdsStream>();
  readonly #secrets: SecretSource;
  readonly #resolver: CombinedResolver;
  readonly #deps: StreamDeps;
  readonly #unsubscribe: (() => void)[] = [];
  readonly #clock: Clock;
  readonly #logger: XdsLogger;
  readonly #metrics: XdsMetrics;
  readonly #scheduler: FairScheduler;
  /** Open streams per principal (xDS and CSDS), for streamsPerPrincipal. */
  readonly #perPrincipal = new Map<string, number>();
  readonly limits: XdsLimits;
  #nextStreamId = 0;
  #closed = false;

  constructor(opts: XdsServerOptions) {
    this.#clock = opts.clock;
    this.#logger = opts.logger ?? silentLogger;
    this.#metrics = opts.metrics ?? {};
    this.limits = resolveLimits(opts.limits);
    this.#scheduler = new FairScheduler((err) => this.#logger.error({ err }, 'xDS push failed; the other streams go on'));
    this.#secrets = new SecretSource(opts.store, opts.policy);
    this.#resolver = new CombinedResolver(this.#secrets, opts.resources, opts.policy);
    this.#deps = {
      resolver: this.#resolver,
      index: this.#index,
      registry: this.#registry,
      scheduler: this.#scheduler,
      limits: this.limits,
      clock: this.#clock,
      logger: this.#logger,
      metrics: this.#metrics,
      nextStreamId: () => String(++this.#nextStreamId),
      opened: (s) => {
        this.#streams.add(s);
        this.#metrics.connectedProxies?.(this.#streams.size);
      },
      closed: (s) => {
        if (this.#streams.delete(s)) this.#release(s.owner);
        this.#metrics.connectedProxies?.(this.#streams.size);
      },
    };
    this.#unsubscribe.push(opts.store.subscribe((c) => this.#onStoreChange(c)));
    this.#unsubscribe.push(opts.resources.subscribe((c) => this.#onResourceChange(c)));
  }

  addTo(server: grpc.Server, authenticator: CallAuthenticator): void {
    const stream = (service: 'ads' | 'sds', Kind: typeof SotwStream | typeof DeltaStream) => (call: Duplex) => {
      const principal = this.#admit(call, authenticator);
      if (!principal) return;
      new Kind(call, this.#deps, principal, service, Kind === SotwStream ? 'sotw' : 'delta').start();
    };
    const unaryLimits = (req: DiscoveryRequest): void => {
      checkNode(req.node, this.limits);
      checkRequestNames('Secret', req.resourceNames, this.limits);
    };
    server.addService(secretDiscoveryService, {
      StreamSecrets: stream('sds', SotwStream),
      DeltaSecrets: stream('sds', DeltaStream),
      FetchSecrets: (call: grpc.ServerUnaryCall<DiscoveryRequest, Uint8Array>, cb: grpc.sendUnaryData<Uint8Array>) => {
        const principal = authenticator.authenticate(call);
        if (!principal) return cb(denied);
        if (this.#closed) return cb(shuttingDown);
        try {
          unaryLimits(call.request);
        } catch (err) {
          if (err instanceof XdsLimitError) return cb(err.status);
          throw err;
        }
        // Scheduled like a push: a flood of FetchSecrets calls takes its caller's turns, not everyone's.
        this.#scheduler.schedule({
          owner: principalToString(principal),
          pump: () => {
            let res: Uint8Array;
            try {
              res = fetchSecrets(call.request, principal, this.#resolver, this.#logger, this.#metrics);
            } catch (err) {
              this.#logger.error({ err }, 'FetchSecrets failed');
              cb({ code: grpc.status.INTERNAL, details: 'internal error handling the request' });
              return PUSH_COST;
            }
            cb(null, res);
            return PUSH_COST + call.request.resourceNames.length;
          },
        });
      },
    });
    server.addService(aggregatedDiscoveryService, {
      StreamAggregatedResources: stream('ads', SotwStream),
      DeltaAggregatedResources: stream('ads', DeltaStream),
    });
    server.addService(clientStatusDiscoveryService, {
      StreamClientStatus: (call: Duplex) => {
        const principal = this.#admit(call, authenticator);
        if (!principal) return;
        const owner = principalToString(principal);
        let open = true;
        const release = (): void => {
          if (open) this.#release(owner);
          open = false;
        };
        for (const e of ['end', 'error', 'close', 'cancelled']) call.on(e, release);
        call.on('data', (req: ClientStatusRequest) => {
          const res = this.#csds(req, principal);
          if (res instanceof Uint8Array) call.write(res);
          else call.emit('error', res);
        });
        call.on('end', () => call.end());
      },
      FetchClientStatus: (call: grpc.ServerUnaryCall<ClientStatusRequest, Uint8Array>, cb: grpc.sendUnaryData<Uint8Array>) => {
        const principal = authenticator.authenticate(call);
        if (!principal) return cb(denied);
        const res = this.#csds(call.request, principal);
        if (res instanceof Uint8Array) cb(null, res);
        else cb(res);
      },
    });
  }

  /**
   * Subscribes to proxy status changes: a stream opened or closed, a response sent, an ACK or a NACK, with what
   * changed. Called synchronously on the hot path: keep listeners O(1).
   */
  onStatusChange(listener: (e: ProxyStatusEvent) => void): () => void {
    return this.#registry.onChange(listener);
  }

  /** The live records behind status(), for whoever keeps counts from onStatusChange events. */
  proxies(): Iterable<ProxyRecordView> {
    return this.#registry.records();
  }

  /** Every stream's status, or those `include` selects (built only for them). */
  status(include?: (proxy: ProxyIdentity) => boolean): ProxyStatusSnapshot {
    return this.#registry.snapshot(this.#clock.now(), include);
  }

  /** Work done per caller by the push scheduler, for tests and benchmarks of fairness. */
  schedulerStats(): SchedulerStats {
    return this.#scheduler.stats();
  }

  /** The identity policy changed (e.g. the mesh description was reloaded): re-evaluate every secret. */
  policyChanged(): void {
    this.#index.notifyAll(TYPE_SECRET, this.#clock.now());
  }

  /** Stops taking streams and ends every open one with OK, so proxies reconnect to another server. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const u of this.#unsubscribe.splice(0)) u();
    for (const s of [...this.#streams]) s.close();
  }

  #admit(call: Duplex, authenticator: CallAuthenticator): NodePrincipal | undefined {
    if (this.#closed) {
      call.emit('error', shuttingDown);
      return undefined;
    }
    const principal = authenticator.authenticate(call);
    if (!principal) {
      this.#logger.warn({ peer: call.getPeer(), method: call.getPath() }, 'xDS call without a node principal: PERMISSION_DENIED');
      call.emit('error', denied);
      return undefined;
    }
    const owner = principalToString(principal);
    const open = this.#perPrincipal.get(owner) ?? 0;
    if (open >= this.limits.streamsPerPrincipal) {
      const err = tooMany(`open streams of ${owner}`, open + 1, 'streamsPerPrincipal', this.limits);
      this.#metrics.refused?.(err.limit);
      this.#logger.warn({ principal: owner, method: call.getPath(), code: err.code, error: err.message }, 'xDS stream refused');
      call.emit('error', err.status);
      return undefined;
    }
    this.#perPrincipal.set(owner, open + 1);
    return principal;
  }

  #release(owner: string): void {
    const n = (this.#perPrincipal.get(owner) ?? 1) - 1;
    if (n > 0) this.#perPrincipal.set(owner, n);
    else this.#perPrincipal.delete(owner);
  }

  /**
   * A node sees the status of its own streams; the operator — `insecure`, or the uid trustplane runs as (who owns
   * its Unix socket) — sees every proxy's.
   */
  #csds(req: ClientStatusRequest, principal: NodePrincipal): Uint8Array | Partial<grpc.StatusObject> {
    const operator = principal.kind === 'insecure' || (principal.kind === 'uid' && principal.uid === (process.getuid?.() ?? -1));
    const self = principalToString(principal);
    try {
      // Only the caller's own streams are even looked at, unless it is the operator.
      return toBinary(ClientStatusResponseSchema, clientStatusResponse(this.status(operator ? undefined : (p) => p.principal === self), req));
    } catch (err) {
      if (err instanceof CsdsRequestError) return { code: grpc.status.INVALID_ARGUMENT, details: err.message };
      throw err;
    }
  }

  #onStoreChange(change: StoreChange): void {
    this.#secrets.onStoreChange(change);
    this.#index.notify(TYPE_SECRET, this.#secrets.affectedNames(change), this.#clock.now());
  }

  #onResourceChange(changes: readonly ResourceChange[]): void {
    const at = this.#clock.now();
    for (const c of changes) if (CONFIG_TYPES.includes(c.typeUrl)) this.#index.notify(c.typeUrl, c.names, at, c.group);
  }
}
