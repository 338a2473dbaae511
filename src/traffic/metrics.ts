// Prometheus metrics of the traffic evidence and the STRICT gate. Labels are bounded by the mesh (service, port
// of a declared inbound port) and by fixed sets (kind, reason), never a source address or a caller's SPIFFE ID.
// Counts and readiness are read from the evidence at scrape time, so ingesting an entry costs no label lookup.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AlsHooks } from './als-service.js';
import type { Traffic } from './traffic.js';

export interface TrafficMetrics {
  /** The receiver's hooks. */
  readonly hooks: AlsHooks;
  /** Binds the scrape-time metrics to the traffic they read. */
  bind(traffic: Traffic): void;
}

export function trafficMetrics(registry: Registry): TrafficMetrics {
  let traffic: Traffic | undefined;
  new Counter({
    name: 'trustplane_traffic_connections_total',
    help: 'connections logged by the proxies of a service port since start, by kind (mtls | plaintext | handshake_failure | rbac_denied)',
    labelNames: ['service', 'port', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const t of traffic?.evidence.totals() ?? []) this.inc({ service: t.service, port: String(t.port), kind: t.kind }, t.count);
    },
  });
  new Gauge({
    name: 'trustplane_strict_ready',
    help: '1 when over the evidence window the port served mTLS and no plaintext; 0 otherwise, and for ports with no evidence (proxyless gRPC)',
    labelNames: ['service', 'port'],
    registers: [registry],
    collect() {
      this.reset();
      for (const e of traffic?.evidence.ports() ?? []) this.set({ service: e.service, port: String(e.port) }, e.readiness === 'ready' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'trustplane_strict_held',
    help: 'per port the description asks STRICT for: 1 while the STRICT gate holds it at PERMISSIVE, else 0',
    labelNames: ['service', 'port'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of traffic?.decisions() ?? []) this.set({ service: d.service, port: String(d.port) }, d.state === 'held' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'trustplane_strict_forced',
    help: 'per port the description asks STRICT for: 1 when force: true puts it STRICT over the STRICT gate, else 0',
    labelNames: ['service', 'port'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of traffic?.decisions() ?? []) this.set({ service: d.service, port: String(d.port) }, d.state === 'forced' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'trustplane_strict_held_ports',
    help: 'ports held at PERMISSIVE by the STRICT gate',
    registers: [registry],
    collect() {
      this.set((traffic?.decisions() ?? []).filter((d) => d.state === 'held').length);
    },
  });
  const accepted = new Counter({ name: 'trustplane_access_log_entries_total', help: 'access-log entries counted as evidence', registers: [registry] });
  const refused = new Counter({
    name: 'trustplane_access_log_entries_refused_total',
    help: 'access-log entries left out, by reason (not_holder: the stream\'s principal may not hold the service | unknown_port | untagged)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'trustplane_access_log_streams_rejected_total',
    help: 'access-log streams ended for what they sent, by reason (too_large | too_many_entries | too_many_streams | malformed | no_identifier | unauthenticated)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const open = new Gauge({ name: 'trustplane_access_log_streams', help: 'open access-log streams', registers: [registry] });
  const throttled = new Counter({ name: 'trustplane_access_log_throttled_total', help: 'times a stream was paused for going over its principal\'s entries per second', registers: [registry] });
  for (const r of ['not_holder', 'unknown_port', 'untagged']) refused.inc({ reason: r }, 0);
  return {
    hooks: {
      accepted: (n) => accepted.inc(n),
      refused: (reason, n) => refused.inc({ reason }, n),
      streamRejected: (reason) => rejected.inc({ reason }),
      openStreams: (n) => open.set(n),
      throttled: () => throttled.inc(),
    },
    bind(t) {
      traffic = t;
    },
  };
}
