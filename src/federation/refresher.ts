// One federation relationship kept fresh: fetch, judge, persist, then hand the bundle to the identity store (which
// pushes it over SDS to every proxy subscribed to that trust domain's validation context, or to ALL). The schedule
// comes from schedule.ts; a failed fetch changes nothing held or served and is retried with backoff.
import type { X509Certificate } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../observe/log.js';
import type { X509Bundle } from '../spiffe/bundle.js';
import { acceptBundle } from './accept.js';
import { isSelfServing, type BundleEndpointParams } from './endpoint-params.js';
import { FederationError, type FetchFailureReason } from './errors.js';
import { fetchBundleDocument, type FetchContext } from './fetch-bundle.js';
import type { HeldBundleFiles } from './held-bundles.js';
import { refreshIntervalMs, retryDelayMs } from './schedule.js';

export type HeldFrom = 'bootstrap' | 'persisted' | 'endpoint';

export interface FederationMetricsHooks {
  refreshed(trustDomain: string, atMs: number, sequence: number | undefined): void;
  failed(trustDomain: string, reason: FetchFailureReason): void;
  /** The trust domain is no longer fetched: its series go. */
  forget(trustDomain: string): void;
}

export interface RefresherDeps {
  readonly clock: Clock;
  readonly random: () => number;
  readonly files: HeldBundleFiles;
  readonly logger: Logger;
  readonly metrics?: FederationMetricsHooks;
  /** Called with every bundle that replaces the held one (the manager puts it in the identity store). */
  readonly publish: (bundle: X509Bundle) => void;
  /** The latest bundle of a trust domain (own or federated), for a non-self-serving https_spiffe endpoint. */
  readonly bundleOf: (trustDomain: string) => X509Bundle | undefined;
  readonly fetch?: Pick<FetchContext, 'webCa' | 'limits'>;
}

export interface AuthoritySummary {
  readonly subject: string;
  readonly notAfter: string;
  readonly sha256: string;
}

export interface RefreshError {
  readonly reason: FetchFailureReason;
  readonly message: string;
  readonly at: string;
}

export interface EndpointRefreshStatus {
  readonly url: string;
  readonly profile: string;
  readonly endpointSpiffeId?: string;
  readonly heldFrom?: HeldFrom;
  readonly lastRefresh?: string;
  readonly lastAttempt?: string;
  readonly nextRefresh?: string;
  readonly refreshIntervalSeconds: number;
  readonly consecutiveFailures: number;
  readonly lastError?: RefreshError;
}

export function summarize(bundle: X509Bundle | undefined): AuthoritySummary[] {
  return (bundle?.x509Authorities ?? []).map((c: X509Certificate) => ({
    subject: c.subject.replace(/\n/g, ', '),
    notAfter: new Date(c.validTo).toISOString(),
    sha256: c.fingerprint256,
  }));
}

export class BundleRefresher {
  #held: X509Bundle | undefined;
  #heldFrom: HeldFrom | undefined;
  #timer: TimerHandle | undefined;
  #next: number | undefined;
  #lastRefresh: number | undefined;
  #lastAttempt: number | undefined;
  #lastError: RefreshError | undefined;
  #failures = 0;
  #inFlight: Promise<void> | undefined;
  #stopped = false;

  constructor(
    readonly params: BundleEndpointParams,
    private readonly deps: RefresherDeps,
    initial: { bundle: X509Bundle; from: HeldFrom; fetchedAt?: number } | undefined,
  ) {
    if (initial) {
      this.#held = initial.bundle;
      this.#heldFrom = initial.from;
      if (initial.fetchedAt !== undefined && !Number.isNaN(initial.fetchedAt)) this.#lastRefresh = initial.fetchedAt;
    }
  }

  get held(): X509Bundle | undefined {
    return this.#held;
  }

  get heldFrom(): HeldFrom | undefined {
    return this.#heldFrom;
  }

  /** A bundle from the operator (a bootstrap file with a higher sequence): the latest until the next refresh (§4.2). */
  replaceHeld(bundle: X509Bundle, from: HeldFrom): void {
    this.#held = bundle;
    this.#heldFrom = from;
    this.deps.publish(bundle);
  }

  /** Fetches now, then on schedule. */
  start(): void {
    void this.refreshNow();
  }

  /** One fetch (or the one already running); resolves when it has been judged and, if good, applied. */
  refreshNow(): Promise<void> {
    this.#inFlight ??= this.#refresh().finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#next = undefined;
  }

  status(): EndpointRefreshStatus {
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    const p = this.params;
    return {
      url: p.url,
      profile: p.profile,
      ...(p.endpointSpiffeId ? { endpointSpiffeId: p.endpointSpiffeId.toString() } : {}),
      ...(this.#heldFrom ? { heldFrom: this.#heldFrom } : {}),
      ...(this.#lastRefresh !== undefined ? { lastRefresh: iso(this.#lastRefresh) } : {}),
      ...(this.#lastAttempt !== undefined ? { lastAttempt: iso(this.#lastAttempt) } : {}),
      ...(this.#next !== undefined ? { nextRefresh: iso(this.#next) } : {}),
      refreshIntervalSeconds: this.#interval() / 1000,
      consecutiveFailures: this.#failures,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  #interval(): number {
    return refreshIntervalMs(this.#held?.refreshHintSeconds);
  }

  async #refresh(): Promise<void> {
    if (this.#stopped) return;
    this.#timer?.cancel();
    const { clock } = this.deps;
    const p = this.params;
    const td = p.trustDomain.name;
    this.#lastAttempt = clock.now();
    try {
      const endpointBundle = p.profile === 'https_spiffe' ? (isSelfServing(p) ? this.#held : this.deps.bundleOf(p.endpointSpiffeId!.trustDomain.name)) : undefined;
      const doc = await fetchBundleDocument(p, { clock, ...this.deps.fetch, ...(endpointBundle ? { endpointBundle } : {}) });
      if (this.#stopped) return;
      const accepted = acceptBundle(p.trustDomain, doc.body, this.#held, {
        from: doc.url,
        now: new Date(clock.now()),
        heldIsLocal: this.#heldFrom === 'bootstrap',
        ...(isSelfServing(p) && doc.endpointChain ? { selfServingChain: doc.endpointChain } : {}),
      });
      // A document equal to a bootstrap or persisted bundle is recorded too: from now on it is what the endpoint said.
      if (accepted.changed || this.#heldFrom !== 'endpoint') {
        try {
          this.deps.files.write(p.trustDomain, doc.body, doc.url, clock.now());
        } catch (err) {
          throw new FederationError('persist_failed', `${td}: the fetched bundle could not be saved (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); it is not used until it can be`);
        }
        const before = this.#held;
        this.#held = accepted.bundle;
        this.#heldFrom = 'endpoint';
        this.deps.publish(accepted.bundle);
        if (accepted.changed) this.deps.logger.info({ trustDomain: td, url: doc.url, sequence: accepted.bundle.sequence, previousSequence: before?.sequence, authorities: accepted.bundle.x509Authorities.length }, 'federated bundle updated');
      }
      // Every fetch is logged (Federation §7.6: the links of a chain of trust are HTTPS requests worth keeping).
      this.deps.logger.info({ trustDomain: td, url: doc.url, sequence: accepted.bundle.sequence, changed: accepted.changed }, 'federated bundle fetched');
      this.#lastRefresh = clock.now();
      this.#failures = 0;
      this.#lastError = undefined;
      this.deps.metrics?.refreshed(td, this.#lastRefresh, this.#held?.sequence);
      this.#schedule(this.#interval());
    } catch (err) {
      if (this.#stopped) return;
      const e = err instanceof FederationError ? err : new FederationError('unreachable', `${p.url}: ${(err as Error).message}`);
      this.#failures++;
      this.#lastError = { reason: e.reason, message: e.message, at: new Date(clock.now()).toISOString() };
      this.deps.metrics?.failed(td, e.reason);
      const delay = retryDelayMs(this.#failures, this.#interval(), this.deps.random);
      this.deps.logger.warn({ trustDomain: td, reason: e.reason, error: e.message, retryInMs: delay, sequence: this.#held?.sequence }, 'federated bundle refresh refused; the last good bundle stays');
      this.#schedule(delay);
    }
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer?.cancel();
    this.#next = this.deps.clock.now() + ms;
    this.#timer = this.deps.clock.setTimer(ms, () => void this.refreshNow());
  }
}
