// Prometheus metrics, one registry per control plane. Names follow the rest of trustplane (spiffe_id, trust_domain,
// type) and labels stay bounded: a SPIFFE ID the mesh declares, a type, a result — never a node.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { IdentityStore } from '../store/identity-store.js';
import type { XdsMetrics } from '../xds/server/observability.js';
import type { FederationMetricsHooks } from '../federation/refresher.js';

export class Metrics {
  readonly registry = new Registry();
  readonly svidExpiry = new Gauge({ name: 'trustplane_svid_expiry_timestamp_seconds', help: 'notAfter of the current X.509-SVID, per SPIFFE ID', labelNames: ['spiffe_id'], registers: [this.registry] });
  readonly svidRenewals = new Counter({ name: 'trustplane_svid_renewals_total', help: 'X.509-SVID mints and renewals by result', labelNames: ['result'], registers: [this.registry] });
  readonly bundleAuthorities = new Gauge({ name: 'trustplane_bundle_authorities', help: 'X.509 authorities in the trust bundle, per trust domain', labelNames: ['trust_domain'], registers: [this.registry] });
  readonly caExpiry = new Gauge({ name: 'trustplane_ca_expiry_timestamp_seconds', help: 'notAfter of the signing CA certificate', registers: [this.registry] });
  readonly connectedProxies = new Gauge({ name: 'trustplane_xds_connected_streams', help: 'open xDS streams', registers: [this.registry] });
  readonly pushes = new Counter({ name: 'trustplane_xds_pushes_total', help: 'xDS responses written, by resource type', labelNames: ['type'], registers: [this.registry] });
  readonly nacks = new Counter({ name: 'trustplane_xds_nacks_total', help: 'xDS NACKs received, by resource type', labelNames: ['type'], registers: [this.registry] });
  readonly rejectedNames = new Counter({ name: 'trustplane_xds_rejected_names_total', help: 'requested resource names left out, by type and reason (unknown | denied)', labelNames: ['type', 'reason'], registers: [this.registry] });
  readonly refused = new Counter({ name: 'trustplane_xds_refused_total', help: 'xDS streams and requests refused by a limit, by limit (namesPerRequest, streamsPerPrincipal, ...)', labelNames: ['limit'], registers: [this.registry] });
  readonly pushSeconds = new Histogram({ name: 'trustplane_xds_push_duration_seconds', help: 'from a change to the response written, by type', labelNames: ['type'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10], registers: [this.registry] });
  readonly meshReloads = new Counter({ name: 'trustplane_mesh_reloads_total', help: 'mesh description reloads by result (ok | invalid)', labelNames: ['result'], registers: [this.registry] });
  readonly servicesRegenerated = new Counter({ name: 'trustplane_mesh_services_regenerated_total', help: 'services whose resources were rebuilt because their resolved inputs changed (a reload rebuilds only those)', registers: [this.registry] });
  readonly resourcesRegenerated = new Counter({ name: 'trustplane_mesh_resources_regenerated_total', help: 'listeners, clusters, routes and endpoints rebuilt, encoded and versioned', registers: [this.registry] });
  readonly meshValid = new Gauge({ name: 'trustplane_mesh_last_reload_valid', help: '1 when the last mesh description read was valid, 0 while the last good one keeps serving after a bad edit', registers: [this.registry] });

  // Federation: trust_domain is one the mesh description federates with, reason one of FETCH_FAILURE_REASONS.
  readonly federationLastRefresh = new Gauge({ name: 'trustplane_federation_last_refresh_timestamp_seconds', help: 'when the bundle of a federated trust domain was last fetched and accepted from its endpoint', labelNames: ['trust_domain'], registers: [this.registry] });
  readonly federationSequence = new Gauge({ name: 'trustplane_federation_bundle_sequence', help: 'spiffe_sequence of the federated bundle held, per trust domain', labelNames: ['trust_domain'], registers: [this.registry] });
  readonly federationErrors = new Counter({ name: 'trustplane_federation_refresh_errors_total', help: 'bundle endpoint fetches refused, by trust domain and reason', labelNames: ['trust_domain', 'reason'], registers: [this.registry] });

  federation(): FederationMetricsHooks {
    return {
      refreshed: (td, atMs, sequence) => {
        this.federationLastRefresh.set({ trust_domain: td }, atMs / 1000);
        if (sequence !== undefined) this.federationSequence.set({ trust_domain: td }, sequence);
      },
      failed: (td, reason) => this.federationErrors.inc({ trust_domain: td, reason }),
      forget: (td) => {
        for (const m of [this.federationLastRefresh, this.federationSequence]) m.remove({ trust_domain: td });
      },
    };
  }

  /**
   * Keeps the per-identity and per-trust-domain series equal to what the store holds: set when an SVID or bundle
   * is added or replaced, removed with it, so no expiry alert fires for an identity that no longer exists.
   */
  observeStore(store: IdentityStore): () => void {
    const sync = (svids: readonly string[], bundles: readonly string[]): void => {
      for (const id of svids) {
        const svid = store.getSvid(id);
        if (svid) this.svidExpiry.set({ spiffe_id: id }, svid.notAfter.getTime() / 1000);
        else this.svidExpiry.remove({ spiffe_id: id });
      }
      for (const td of bundles) {
        const bundle = store.getBundle(td);
        if (bundle) this.bundleAuthorities.set({ trust_domain: td }, bundle.x509Authorities.length);
        else this.bundleAuthorities.remove({ trust_domain: td });
      }
    };
    sync(store.svids().map((s) => s.spiffeId), store.bundles().map((b) => b.trustDomain.name));
    return store.subscribe((c) => sync(c.svids, c.bundles));
  }

  /** The hooks the xDS server calls. */
  xds(): XdsMetrics {
    return {
      connectedProxies: (n) => this.connectedProxies.set(n),
      pushed: (type) => this.pushes.inc({ type }),
      nacked: (type) => this.nacks.inc({ type }),
      nameRejected: (type, reason, count = 1) => this.rejectedNames.inc({ type, reason }, count),
      refused: (limit) => this.refused.inc({ limit }),
      pushSeconds: (type, s) => this.pushSeconds.observe({ type }, s),
    };
  }
}
