// Every federation relationship of the mesh description, kept in the identity store: trust domains with only a
// bundleFile get that file's bundle; those with a bundleEndpoint get a BundleRefresher, started from the best
// bundle at hand (the last one fetched, persisted in the data directory, or the bootstrap bundleFile when it has a
// higher spiffe_sequence or nothing was fetched yet). A reload keeps the refresher of an unchanged relationship; a
// trust domain that leaves the description is dropped from the store and its local copy deleted (§6.3).
import type { Clock } from '../clock.js';
import type { Logger } from '../observe/log.js';
import type { X509Bundle } from '../spiffe/bundle.js';
import type { TrustDomain } from '../spiffe/trust-domain.js';
import type { IdentityStore } from '../store/identity-store.js';
import type { SpiffeId } from '../spiffe/id.js';
import { paramsKey, type BundleEndpointParams } from './endpoint-params.js';
import type { EndpointProfile } from './endpoint-server.js';
import type { FetchContext } from './fetch-bundle.js';
import { HeldBundleFiles } from './held-bundles.js';
import { BundleRefresher, summarize, type AuthoritySummary, type EndpointRefreshStatus, type FederationMetricsHooks, type HeldFrom } from './refresher.js';

/** What the manager needs of a mesh description's federation entry. */
export interface FederationEntry {
  readonly trustDomain: TrustDomain;
  readonly bundleFile?: string;
  readonly bundleEndpoint?: { readonly url: string; readonly profile: EndpointProfile; readonly endpointSpiffeId?: SpiffeId };
}

export interface FederatedDomainStatus {
  readonly trustDomain: string;
  readonly source: 'file' | 'endpoint';
  readonly bundleFile?: string;
  readonly sequence?: number;
  readonly authorities: readonly AuthoritySummary[];
  readonly endpoint?: EndpointRefreshStatus;
}

export interface FederationOptions {
  readonly dataDir: string;
  readonly store: IdentityStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: FederationMetricsHooks;
  readonly random?: () => number;
  readonly fetch?: Pick<FetchContext, 'webCa' | 'limits'>;
}

export class Federation {
  readonly #opts: FederationOptions;
  readonly #files: HeldBundleFiles;
  readonly #refreshers = new Map<string, { key: string; refresher: BundleRefresher }>();
  /** Every trust domain this manager put in the store, with the bundleFile it came from (file-only domains). */
  #entries: readonly FederationEntry[] = [];
  #closed = false;

  constructor(opts: FederationOptions) {
    this.#opts = opts;
    this.#files = new HeldBundleFiles(opts.dataDir);
  }

  /**
   * Swaps in the federation of a new description. `fileBundles` are the bundleFile bundles, already loaded and
   * checked. Call inside store.batch() so that proxies see one change.
   */
  apply(entries: readonly FederationEntry[], fileBundles: readonly X509Bundle[]): void {
    const { store } = this.#opts;
    const fileOf = new Map(fileBundles.map((b) => [b.trustDomain.name, b]));
    const next = new Set(entries.map((e) => e.trustDomain.name));
    for (const e of this.#entries) {
      const td = e.trustDomain.name;
      if (next.has(td)) continue;
      this.#stop(td);
      if (e.bundleEndpoint) this.#files.remove(e.trustDomain);
      store.removeBundle(td);
    }
    const started: BundleRefresher[] = [];
    for (const e of entries) {
      const td = e.trustDomain.name;
      const file = fileOf.get(td);
      if (!e.bundleEndpoint) {
        // No endpoint any more: what it served is not kept for a later relationship to start from.
        if (this.#refreshers.has(td)) this.#files.remove(e.trustDomain);
        this.#stop(td);
        if (file) store.setBundle(file);
        else store.removeBundle(td);
        continue;
      }
      const params: BundleEndpointParams = { trustDomain: e.trustDomain, ...e.bundleEndpoint };
      const key = paramsKey(params);
      const current = this.#refreshers.get(td);
      if (current?.key === key) {
        // Same relationship: a bootstrap file with a higher sequence is an operator's local update (§4.2).
        if (file && newer(file, current.refresher.held)) current.refresher.replaceHeld(file, 'bootstrap');
        continue;
      }
      const previous = current?.refresher.held ?? store.getBundle(td);
      this.#stop(td);
      const initial = this.#initial(e.trustDomain, file, current ? previous : undefined);
      const refresher = new BundleRefresher(params, {
        clock: this.#opts.clock,
        random: this.#opts.random ?? Math.random,
        files: this.#files,
        logger: this.#opts.logger.child({ component: 'federation', trustDomain: td }),
        publish: (b) => store.setBundle(b),
        bundleOf: (name) => store.getBundle(name),
        ...(this.#opts.metrics ? { metrics: this.#opts.metrics } : {}),
        ...(this.#opts.fetch ? { fetch: this.#opts.fetch } : {}),
      }, initial);
      this.#refreshers.set(td, { key, refresher });
      if (initial) store.setBundle(initial.bundle);
      else store.removeBundle(td);
      started.push(refresher);
    }
    this.#entries = entries;
    // Fetching starts after the store holds every bundle of this description (a non-self-serving endpoint may need one).
    if (!this.#closed) queueMicrotask(() => started.forEach((r) => !this.#closed && r.start()));
  }

  /** The refresher of an endpoint-fetched trust domain (tests and `refresh now`). */
  refresher(trustDomain: string): BundleRefresher | undefined {
    return this.#refreshers.get(trustDomain)?.refresher;
  }

  status(): FederatedDomainStatus[] {
    return [...this.#entries]
      .sort((a, b) => (a.trustDomain.name < b.trustDomain.name ? -1 : 1))
      .map((e) => {
        const td = e.trustDomain.name;
        const bundle = this.#opts.store.getBundle(td);
        const r = this.#refreshers.get(td)?.refresher;
        return {
          trustDomain: td,
          source: e.bundleEndpoint ? 'endpoint' : 'file',
          ...(e.bundleFile ? { bundleFile: e.bundleFile } : {}),
          ...(bundle?.sequence !== undefined ? { sequence: bundle.sequence } : {}),
          authorities: summarize(bundle),
          ...(r ? { endpoint: r.status() } : {}),
        };
      });
  }

  close(): void {
    this.#closed = true;
    for (const td of [...this.#refreshers.keys()]) this.#stop(td);
  }

  #stop(td: string): void {
    if (this.#refreshers.has(td)) this.#opts.metrics?.forget(td);
    this.#refreshers.get(td)?.refresher.stop();
    this.#refreshers.delete(td);
  }

  /** The bundle a new relationship starts from: the newest of what was held, what was persisted and the bootstrap. */
  #initial(td: TrustDomain, bootstrap: X509Bundle | undefined, held: X509Bundle | undefined): { bundle: X509Bundle; from: HeldFrom; fetchedAt?: number } | undefined {
    const persisted = this.#files.read(td);
    let best: { bundle: X509Bundle; from: HeldFrom; fetchedAt?: number } | undefined = held ? { bundle: held, from: 'endpoint' } : undefined;
    if (persisted && (!best || newer(persisted.bundle, best.bundle))) best = { bundle: persisted.bundle, from: 'persisted', fetchedAt: persisted.fetchedAt };
    if (bootstrap && (!best || newer(bootstrap, best.bundle))) best = { bundle: bootstrap, from: 'bootstrap' };
    return best;
  }
}

/** Whether `a` should replace `b`: only a strictly higher sequence does (an unsequenced bundle never displaces one held). */
function newer(a: X509Bundle, b: X509Bundle | undefined): boolean {
  if (!b) return true;
  return a.sequence !== undefined && (b.sequence === undefined || a.sequence > b.sequence);
}
