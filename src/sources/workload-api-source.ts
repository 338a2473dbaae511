// A SPIFFE Workload API (a SPIRE agent, or anything that follows the spec) as the identity source: the SVIDs and
// bundles it streams to trustplane become the identity store's, so SDS, the generator, the rollout and the status
// pages run on top of it. Every response is the full state (Workload API §4.3-4.4): an identity or federated
// bundle it no longer carries leaves the store. When the agent goes away (a restart), the last SVIDs keep serving
// until they expire, reconnection backs off with jitter, and readiness and status say what is going on.
import * as grpc from '@grpc/grpc-js';
import type { X509Certificate } from 'node:crypto';
import { Gauge, type Registry } from 'prom-client';
import type { JWTBundlesResponse, X509SVIDResponse } from '#gen/workload_pb';
import type { Clock, TimerHandle } from '../clock.js';
import { TrustplaneError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import type { SpiffeId } from '../spiffe/id.js';
import type { X509Bundle } from '../spiffe/bundle.js';
import { parseJwtAuthority, type JwtAuthority } from '../spiffe/jwt-authority.js';
import { TrustDomain } from '../spiffe/trust-domain.js';
import { UpstreamStatusError, type JwtSvidIssuer } from '../workload-api/jwt-profile.js';
import type { IdentityStore, X509SvidRecord } from '../store/identity-store.js';
import type { WorkloadApiAddress } from '../workload-api/address.js';
import { WorkloadApiClient, type StreamWatch } from '../workload-api/client.js';
import type { IdentitySource, IdentitySourceStatus, Readiness } from './identity-source.js';
import { readX509Context, type RejectedSvid } from './x509-context.js';

export const DEFAULT_START_TIMEOUT_MS = 30_000;

export interface WorkloadApiSourceOptions {
  readonly address: WorkloadApiAddress;
  readonly store: IdentityStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Uniform in [0, 1); injectable so tests can pin the jitter. */
  readonly random?: () => number;
  /** Reconnection backoff: doubles from the initial delay up to the maximum, ±20% jitter. */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  /** How long started() waits for the first response before failing. */
  readonly startTimeoutMs?: number;
  /** Where the source's metrics go (the control plane's registry). */
  readonly registry?: Registry;
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

export class WorkloadApiSource implements IdentitySource {
  readonly kind = 'workload-api';
  readonly #o: WorkloadApiSourceOptions;
  readonly #client: WorkloadApiClient;
  readonly #random: () => number;
  #declared = new Set<string>();
  /** The agent's current valid SVIDs of the own trust domain (declared or not), in the order given. */
  #given = new Map<string, X509SvidRecord>();
  #checked = new Map<string, X509SvidRecord>();
  #rejected: readonly RejectedSvid[] = [];
  /** Federated trust domains this source put in the store (and so may take out). */
  #federated = new Set<string>();
  /** SPIFFE IDs this source wrote to the store. */
  #written = new Set<string>();
  #watch: StreamWatch | undefined;
  /** The agent's FetchJWTBundles stream, open beside the X.509 one; its keys ride in the store's bundles. */
  #jwtWatch: StreamWatch | undefined;
  #jwtAuthorities = new Map<string, readonly JwtAuthority[]>();
  /** The agent answered FetchJWTBundles with Unimplemented: X.509 only. */
  #jwtUnsupported = false;
  #connected = false;
  #lastUpdateAt: number | undefined;
  #disconnectedSince: number | undefined;
  #lastError: string | undefined;
  #failures = 0;
  #nextRetryAt: number | undefined;
  #retry: TimerHandle | undefined;
  #expiry: TimerHandle | undefined;
  #lastMissing = '';
  #closed = false;
  /** The server refused the protocol itself: no more attempts. */
  #stopped = false;
  readonly #started: Promise<void>;
  #resolveStarted!: () => void;
  #rejectStarted!: (e: Error) => void;
  #startTimer: TimerHandle | undefined;
  readonly #listeners = new Set<() => void>();

  constructor(opts: WorkloadApiSourceOptions) {
    this.#o = opts;
    this.#random = opts.random ?? Math.random;
    this.#client = new WorkloadApiClient(opts.address);
    this.#started = new Promise((ok, fail) => {
      this.#resolveStarted = ok;
      this.#rejectStarted = fail;
    });
    this.#started.catch(() => undefined);
    this.#startTimer = opts.clock.setTimer(opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, () => {
      this.#rejectStarted(new TrustplaneError('IDENTITY_SOURCE_UNAVAILABLE', `no response from the Workload API at ${opts.address.uri} within ${Math.round((opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS) / 1000)} s${this.#lastError ? ` (last error: ${this.#lastError})` : ''}; is the agent running, and does it have an entry for trustplane's uid?`));
    });
    if (opts.registry) this.#registerMetrics(opts.registry);
    this.#connect();
  }

  setIdentities(ids: readonly SpiffeId[]): void {
    this.#declared = new Set(ids.map((i) => i.toString()));
    this.#apply();
  }

  started(): Promise<void> {
    // The clock's timers do not hold the process open (they are unref'd), and neither does a channel that cannot
    // connect: waiting for the agent must, or `serve` would exit silently before the agent shows up.
    const keepAlive = setInterval(() => undefined, 60_000);
    return this.#started.finally(() => clearInterval(keepAlive));
  }

  /** Told after every response applied and every end of the stream (status and readiness may have changed). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const l of [...this.#listeners]) l();
  }

  /** Declared identities the agent does not give (or gives invalid), sorted. */
  missing(): string[] {
    return [...this.#declared].filter((id) => !this.#given.has(id)).sort();
  }

  ready(): Readiness {
    const at = this.#o.address.uri;
    if (this.#stopped && this.#written.size === 0) return { ready: false, reason: `the Workload API at ${at} refused the request (${this.#lastError}); not retrying` };
    if (this.#lastUpdateAt === undefined) return { ready: false, reason: `no SVIDs yet from the Workload API at ${at}${this.#lastError ? ` (${this.#lastError})` : ''}` };
    const { store } = this.#o;
    if (!store.getBundle(store.trustDomain)) return { ready: false, reason: `the Workload API at ${at} gave no bundle for ${store.trustDomain}` };
    const held = [...this.#written].map((id) => store.getSvid(id)).filter((r): r is X509SvidRecord => r !== undefined);
    if (held.length === 0) return { ready: false, reason: `none of the ${this.#declared.size} declared identities has a valid SVID from the Workload API at ${at}${this.#lastError ? ` (${this.#lastError})` : ''}` };
    if (!this.#connected) {
      const until = Math.min(...held.map((r) => r.notAfter.getTime()));
      return { ready: true, reason: `the Workload API at ${at} is unreachable since ${iso(this.#disconnectedSince)} (${this.#lastError}); serving the last SVIDs, the first of which expires at ${iso(until)}` };
    }
    const missing = this.missing();
    if (missing.length) return { ready: true, reason: `${missing.length} declared identit${missing.length === 1 ? 'y is' : 'ies are'} not given by the Workload API at ${at}: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}` };
    return { ready: true };
  }

  status(): IdentitySourceStatus {
    const { store } = this.#o;
    return {
      kind: this.kind,
      address: this.#o.address.uri,
      connected: this.#connected,
      lastUpdateAt: iso(this.#lastUpdateAt),
      disconnectedSince: iso(this.#disconnectedSince),
      lastError: this.#lastError,
      nextRetryAt: iso(this.#nextRetryAt),
      retrying: !this.#stopped,
      servingLastSvids: !this.#connected && this.#written.size > 0,
      declared: this.#declared.size,
      identities: [...this.#declared].sort().map((spiffeId) => {
        const r = store.getSvid(spiffeId);
        return r && this.#written.has(spiffeId) ? { spiffeId, state: 'held', serial: r.serial, notAfter: r.notAfter.toISOString() } : { spiffeId, state: 'missing' };
      }),
      missing: this.missing(),
      notDeclared: [...this.#given.keys()].filter((id) => !this.#declared.has(id)).sort(),
      rejected: this.#rejected,
      federatedTrustDomains: [...this.#federated].sort(),
      jwtBundles: this.#jwtUnsupported ? 'not served by the upstream' : [...this.#jwtAuthorities.keys()].sort(),
    };
  }

  /** FetchJWTSVID passed on to the agent, one SPIFFE ID at a time (the agent knows trustplane, not its callers). */
  jwtIssuer(): JwtSvidIssuer {
    return {
      mint: async (spiffeId, audience) => {
        const id = spiffeId.toString();
        let r;
        try {
          r = await this.#client.fetchJwtSvid(audience, id);
        } catch (err) {
          const e = err as grpc.ServiceError;
          throw new UpstreamStatusError({ code: typeof e.code === 'number' ? e.code : grpc.status.UNAVAILABLE, details: `the Workload API at ${this.#o.address.uri}: ${e.details ?? e.message}` });
        }
        const svid = r.svids.find((s) => s.spiffeId === id);
        if (!svid) throw new UpstreamStatusError({ code: grpc.status.PERMISSION_DENIED, details: `the Workload API at ${this.#o.address.uri} gave no JWT-SVID for ${id}` });
        return { token: svid.svid };
      },
    };
  }

  intermediates(): readonly X509Certificate[] {
    const seen = new Map<string, X509Certificate>();
    for (const r of this.#given.values()) for (const c of r.chain.slice(1)) seen.set(c.fingerprint256, c);
    return [...seen.values()];
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.cancel();
    this.#jwtWatch?.cancel();
    this.#retry?.cancel();
    this.#expiry?.cancel();
    this.#startTimer?.cancel();
    this.#client.close();
  }

  #connect(): void {
    if (this.#closed) return;
    this.#nextRetryAt = undefined;
    this.#watch = this.#client.watchX509Svids(
      (r) => this.#onUpdate(r),
      (s) => this.#onEnd(s.code, s.details),
    );
    if (!this.#jwtUnsupported) this.#jwtWatch = this.#client.watchJwtBundles((r) => this.#onJwtBundles(r), (s) => this.#onJwtEnd(s.code, s.details));
  }

  #onJwtBundles(r: JWTBundlesResponse): void {
    if (this.#closed) return;
    const next = new Map<string, readonly JwtAuthority[]>();
    for (const [key, doc] of Object.entries(r.bundles)) {
      try {
        const td = TrustDomain.parse(key);
        const keys = (JSON.parse(Buffer.from(doc).toString('utf8')) as { keys?: unknown }).keys;
        if (!Array.isArray(keys)) throw new Error('not a JWK Set (no "keys" array)');
        next.set(td.name, keys.map((k, i) => parseJwtAuthority(k as Record<string, unknown>, `JWT bundle ${key}`, i)).filter((a): a is JwtAuthority => a !== undefined));
      } catch (err) {
        this.#o.logger.warn({ address: this.#o.address.uri, trustDomain: key }, `JWT bundle from the Workload API ignored: ${(err as Error).message}`);
      }
    }
    this.#jwtAuthorities = next;
    const { store } = this.#o;
    store.batch(() => {
      for (const td of [store.trustDomain, ...this.#federated]) {
        const b = store.getBundle(td);
        if (b) store.setBundle(this.#withJwt(b));
      }
    });
    this.#changed();
  }

  #onJwtEnd(code: grpc.status, details: string): void {
    this.#jwtWatch = undefined;
    if (this.#closed) return;
    if (code === grpc.status.UNIMPLEMENTED) {
      this.#jwtUnsupported = true;
      this.#o.logger.info({ address: this.#o.address.uri }, 'the Workload API serves no JWT-SVIDs (FetchJWTBundles is Unimplemented); X.509 only');
      return;
    }
    // Anything else: the X.509 stream decides about the session (it ends too when the agent goes away); the JWT
    // bundles stream is opened again with the next connection, and the keys held stay meanwhile.
    this.#o.logger.warn({ address: this.#o.address.uri, error: `${grpc.status[code] ?? code}: ${details}` }, 'the Workload API ended the JWT bundles stream; it is opened again on the next connection');
  }

  #withJwt(b: X509Bundle): X509Bundle {
    return b.withJwtAuthorities(this.#jwtAuthorities.get(b.trustDomain.name) ?? []);
  }

  #onUpdate(r: X509SVIDResponse): void {
    if (this.#closed) return;
    const now = this.#o.clock.now();
    const ctx = readX509Context(r, this.#o.store.trustDomain, new Date(now), this.#checked);
    for (const rej of ctx.rejected) if (!this.#rejected.some((p) => p.spiffeId === rej.spiffeId && p.reason === rej.reason)) this.#o.logger.warn({ spiffeId: rej.spiffeId }, `Workload API entry rejected: ${rej.reason}`);
    const wasConnected = this.#connected;
    this.#connected = true;
    if (ctx.svids.size === 0) {
      // `svids` is mandatory (one or more); a message without a usable one is reported and discarded (§4.5), not
      // taken as a redaction of everything: that is what PermissionDenied says.
      this.#rejected = ctx.rejected;
      this.#lastError = r.svids.length === 0 ? 'a response without SVIDs was discarded' : `a response whose ${r.svids.length} SVIDs were all rejected was discarded`;
      this.#o.logger.warn({ address: this.#o.address.uri }, this.#lastError);
      this.#changed();
      return;
    }
    this.#given = ctx.svids;
    this.#checked = ctx.checked;
    this.#rejected = ctx.rejected;
    this.#connected = true;
    this.#failures = 0;
    this.#lastUpdateAt = now;
    this.#disconnectedSince = undefined;
    this.#lastError = undefined;
    const { store } = this.#o;
    store.batch(() => {
      if (ctx.bundle) store.setBundle(this.#withJwt(ctx.bundle));
      for (const b of ctx.federated.values()) store.setBundle(this.#withJwt(b));
      for (const td of this.#federated) if (!ctx.federated.has(td)) store.removeBundle(td);
      this.#federated = new Set(ctx.federated.keys());
      this.#apply();
    });
    if (!wasConnected) this.#o.logger.info({ address: this.#o.address.uri, svids: ctx.svids.size, federated: ctx.federated.size }, 'receiving SVIDs from the Workload API');
    this.#startTimer?.cancel();
    this.#resolveStarted();
    this.#changed();
  }

  #onEnd(code: grpc.status, details: string): void {
    if (this.#closed) return;
    const now = this.#o.clock.now();
    this.#watch = undefined;
    this.#jwtWatch?.cancel();
    this.#jwtWatch = undefined;
    this.#lastError = `${grpc.status[code] ?? code}: ${details.replace(/\s*Resolution note:\s*$/, '')}`;
    if (this.#connected || this.#disconnectedSince === undefined) this.#disconnectedSince = now;
    this.#connected = false;
    // PermissionDenied redacts every SVID (Workload API §5.2.1): stop serving them. Any other end keeps the last
    // ones, which stay valid until they expire: the agent is restarting or the socket is briefly gone.
    if (code === grpc.status.PERMISSION_DENIED) {
      this.#given = new Map();
      this.#apply();
    }
    // InvalidArgument and Unimplemented mean the client and the server disagree about the protocol: the spec's
    // client rule is to report and not retry (Workload Endpoint, appendix A); a restart after the fix retries.
    if (code === grpc.status.INVALID_ARGUMENT || code === grpc.status.UNIMPLEMENTED) {
      this.#stopped = true;
      this.#nextRetryAt = undefined;
      this.#o.logger.error({ address: this.#o.address.uri, error: this.#lastError }, 'the Workload API refused the request; not retrying (restart trustplane once the agent or its configuration is fixed)');
      this.#startTimer?.cancel();
      this.#rejectStarted(new TrustplaneError('IDENTITY_SOURCE_REFUSED', `the Workload API at ${this.#o.address.uri} refused the request (${this.#lastError}); a client must not retry this`));
      this.#changed();
      return;
    }
    this.#failures++;
    const base = Math.min(this.#o.retryMaxMs ?? 30_000, (this.#o.retryInitialMs ?? 500) * 2 ** Math.min(this.#failures - 1, 20));
    const delay = Math.round(base * (0.8 + 0.4 * this.#random()));
    this.#nextRetryAt = now + delay;
    this.#o.logger.warn({ address: this.#o.address.uri, error: this.#lastError, retryInMs: delay, servingLastSvids: this.#written.size }, 'Workload API stream ended; reconnecting');
    this.#retry = this.#o.clock.setTimer(delay, () => this.#connect());
    this.#changed();
  }

  /** Writes the declared identities the agent gives (and that are still valid) to the store; takes out the rest. */
  #apply(): void {
    const { store, clock } = this.#o;
    const now = clock.now();
    store.batch(() => {
      const next = new Set<string>();
      for (const id of this.#declared) {
        const r = this.#given.get(id);
        if (r && r.notAfter.getTime() > now) {
          store.setSvid(r);
          next.add(id);
        }
      }
      for (const id of this.#written) if (!next.has(id)) store.removeSvid(id);
      this.#written = next;
    });
    this.#armExpiry();
    const missing = this.missing().join(' ');
    if (missing !== this.#lastMissing && this.#lastUpdateAt !== undefined) {
      this.#lastMissing = missing;
      if (missing) this.#o.logger.warn({ address: this.#o.address.uri, missing: this.missing() }, 'identities declared in the mesh are not given by the Workload API');
    }
  }

  // While connected the agent rotates SVIDs well before they expire; this matters when it is gone: an SVID that
  // expires leaves the store instead of being served expired.
  #armExpiry(): void {
    this.#expiry?.cancel();
    this.#expiry = undefined;
    const times = [...this.#written].map((id) => this.#given.get(id)?.notAfter.getTime()).filter((t): t is number => t !== undefined);
    if (times.length === 0 || this.#closed) return;
    const due = Math.min(...times);
    this.#expiry = this.#o.clock.setTimer(Math.max(0, due - this.#o.clock.now()), () => {
      this.#o.logger.warn({ address: this.#o.address.uri }, 'an SVID from the Workload API expired without being renewed; it is no longer served');
      this.#apply();
    });
  }

  #registerMetrics(registry: Registry): void {
    const self = this;
    new Gauge({ name: 'trustplane_identity_source_connected', help: '1 while the Workload API identity source has its stream open', registers: [registry], collect() { this.set(self.#connected ? 1 : 0); } });
    new Gauge({ name: 'trustplane_identity_source_missing_identities', help: 'identities the mesh declares that the Workload API identity source does not give', registers: [registry], collect() { this.set(self.missing().length); } });
    new Gauge({
      name: 'trustplane_identity_source_last_update_timestamp_seconds',
      help: 'when the Workload API identity source last received a response',
      registers: [registry],
      collect() {
        if (self.#lastUpdateAt !== undefined) this.set(self.#lastUpdateAt / 1000);
      },
    });
  }
}
