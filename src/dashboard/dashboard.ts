// The migration dashboard, composed: what it reads (DashboardSources), the document built from it, the live feed
// that pushes the document to open pages when any source changes, and the admin routes that serve it all.
import { systemClock, type Clock } from '../clock.js';
import type { AdminHandler } from '../control-plane/admin-http.js';
import type { RolloutStatus } from '../rollout/status.js';
import type { X509Bundle } from '../spiffe/bundle.js';
import type { X509SvidRecord } from '../store/identity-store.js';
import type { TrafficEvidenceView } from '../traffic/evidence-view.js';
import type { ProxyStatusSnapshot } from '../xds/status/proxy-status.js';
import { loadAssets } from './assets.js';
import { dashboardHandler } from './http.js';
import { LiveFeed } from './live-feed.js';
import { buildDashboard, type DashboardDocument } from './model.js';

/** Everything the dashboard reads; each a read of state the control plane already keeps. */
export interface DashboardSources {
  /** The control plane's clock (expiry, relative times). */
  now(): number;
  readonly trustDomain: string;
  rollout(): RolloutStatus;
  /** Absent when no traffic evidence is collected. */
  readonly evidence?: TrafficEvidenceView;
  proxies(): ProxyStatusSnapshot;
  svids(): readonly X509SvidRecord[];
  bundles(): readonly X509Bundle[];
  /** Subscriptions to whatever changes the document; each returns its unsubscribe. */
  readonly changes: readonly ((listener: () => void) => () => void)[];
}

export interface DashboardOptions {
  /** One sentence for callers who are not the operator: how the operator gets in. */
  readonly howToSignIn: () => string;
  /** Paces live updates (the host's clock unless a test drives it). */
  readonly timer?: Clock;
  readonly maxClients?: number;
  readonly minIntervalMs?: number;
  readonly refreshMs?: number;
}

export class Dashboard {
  readonly feed: LiveFeed;
  readonly handler: AdminHandler;
  readonly #sources: DashboardSources;
  readonly #unsubscribe: (() => void)[];

  constructor(sources: DashboardSources, opts: DashboardOptions) {
    this.#sources = sources;
    const assets = loadAssets();
    this.feed = new LiveFeed({
      build: () => JSON.stringify(this.document()),
      timer: opts.timer ?? systemClock,
      ...(opts.maxClients !== undefined ? { maxClients: opts.maxClients } : {}),
      ...(opts.minIntervalMs !== undefined ? { minIntervalMs: opts.minIntervalMs } : {}),
      ...(opts.refreshMs !== undefined ? { refreshMs: opts.refreshMs } : {}),
    });
    const changed = (): void => this.feed.changed();
    this.#unsubscribe = [...sources.changes, ...(sources.evidence ? [(l: () => void) => sources.evidence!.onChange(l)] : [])].map((subscribe) => subscribe(changed));
    this.handler = dashboardHandler({ document: () => JSON.stringify(this.document()), feed: this.feed, assets, howToSignIn: opts.howToSignIn });
  }

  document(): DashboardDocument {
    const s = this.#sources;
    return buildDashboard({
      now: s.now(),
      trustDomain: s.trustDomain,
      rollout: s.rollout(),
      ...(s.evidence ? { evidence: s.evidence } : {}),
      proxies: s.proxies(),
      svids: s.svids(),
      bundles: s.bundles(),
    });
  }

  /** Ends open event streams (else the admin server's close would wait for them) and stops listening. */
  close(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
    this.feed.close();
  }
}
