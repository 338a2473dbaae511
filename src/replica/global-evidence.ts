// Traffic evidence across replicas: each replica's access-log receiver counts what its own proxies report; each
// replica shares its buckets (TrafficEvidence.exportBuckets) through the datastore, and this view merges every
// replica's buckets with this replica's live ones into one TrafficEvidenceView. The rollout leader runs the STRICT
// gate over it; every replica shows it on /rollout and the dashboard.
//
// Whose evidence counts: every summary written within the last window, whether its replica is alive or not. A
// replica that died 10 s after seeing plaintext still saw plaintext: its buckets count until they leave the window,
// exactly as if it had lived and seen nothing more (a dead replica's proxies reconnect elsewhere and report there
// from then on). Each process writes under its own incarnation, so a replica restarted with the same --replica-id
// (its in-memory evidence empty) does not overwrite what it saw before. What a replica counted after its last
// write dies with it: at most one heartbeat interval of evidence.
import type { Clock } from '../clock.js';
import { TrustplaneError } from '../errors.js';
import type { BucketSource, EvidenceBuckets, PortBuckets, PortEvidence, SourceCount, TrafficEvidenceView, WindowCounts } from '../traffic/evidence-view.js';
import { BUCKETS, DEFAULT_MAX_SOURCES_PER_PORT, OTHER_SOURCE, portKeyOf } from '../traffic/evidence.js';
import { readinessOf } from '../traffic/readiness.js';

/** A replica's shared evidence as read from the datastore. */
export interface SharedEvidence {
  readonly replica: string;
  readonly incarnation: string;
  readonly writtenAt: number;
  readonly buckets: EvidenceBuckets;
}

/** The live evidence of this replica: what it exports, and when it changes. */
export interface LocalEvidence {
  readonly windowMs: number;
  readonly bucketMs: number;
  exportBuckets(): EvidenceBuckets;
  onChange(listener: () => void): () => void;
}

export interface GlobalEvidenceOptions {
  readonly clock: Clock;
  readonly local: LocalEvidence;
  readonly maxSourcesPerPort?: number;
}

/** How long a shared summary matters after it was written: its newest bucket leaves the window then. */
export const retentionMs = (windowMs: number, bucketMs: number): number => windowMs + bucketMs;

type Counts = [number, number, number, number];
type TrackedKind = BucketSource['kind'];

export class GlobalEvidence implements TrafficEvidenceView {
  readonly #o: GlobalEvidenceOptions;
  #remote: readonly SharedEvidence[] = [];
  /** Merged ports, valid for one bucket of time and until the local or remote evidence changes. */
  #cache: { epoch: number; ports: Map<string, PortEvidence> } | undefined;
  readonly #listeners = new Set<() => void>();

  constructor(o: GlobalEvidenceOptions) {
    this.#o = o;
    o.local.onChange(() => {
      this.#cache = undefined;
    });
  }

  get windowMs(): number {
    return this.#o.local.windowMs;
  }

  /** The other replicas' (and this replica's earlier incarnations') summaries, as last read. */
  setShared(rows: readonly SharedEvidence[]): void {
    this.#remote = rows;
    this.#cache = undefined;
    for (const l of [...this.#listeners]) l();
  }

  /** The replicas whose evidence is in the view besides this one (for status pages). */
  get sharedBy(): readonly string[] {
    return [...new Set(this.#remote.map((r) => r.replica))].sort();
  }

  ports(): readonly PortEvidence[] {
    return [...this.#merged().values()];
  }

  port(service: string, port: number): PortEvidence | undefined {
    return this.#merged().get(portKeyOf(service, port));
  }

  onChange(listener: () => void): () => void {
    const offLocal = this.#o.local.onChange(listener);
    this.#listeners.add(listener);
    return () => {
      offLocal();
      this.#listeners.delete(listener);
    };
  }

  #merged(): Map<string, PortEvidence> {
    const { bucketMs } = this.#o.local;
    const now = this.#o.clock.now();
    const epoch = Math.floor(now / bucketMs);
    if (this.#cache?.epoch === epoch) return this.#cache.ports;
    const local = this.#o.local.exportBuckets();
    const ports = new Map<string, PortEvidence>();
    for (const p of local.ports) {
      const key = portKeyOf(p.service, p.port);
      const parts: { p: PortBuckets; bucketMs: number }[] = [{ p, bucketMs: local.bucketMs }];
      for (const r of this.#remote) {
        const q = r.buckets.ports.find((x) => x.service === p.service && x.port === p.port);
        if (q) parts.push({ p: q, bucketMs: r.buckets.bucketMs });
      }
      ports.set(key, this.#portEvidence(p, parts, epoch));
    }
    this.#cache = { epoch, ports };
    return ports;
  }

  /** One port over every replica's buckets; `declared` is this replica's (its evidenceAvailable is the description's). */
  #portEvidence(declared: PortBuckets, parts: readonly { p: PortBuckets; bucketMs: number }[], epoch: number): PortEvidence {
    const { bucketMs, windowMs } = this.#o.local;
    const slots = BUCKETS + 1;
    const oldest = epoch - slots + 1;
    // Another replica configured with another window width numbers its buckets differently: re-number by time.
    const at = (b: number, width: number): number => (width === bucketMs ? b : Math.floor((b * width) / bucketMs));
    const inWindow = (e: number): boolean => e >= oldest && e <= epoch;
    const byEpoch = new Map<number, Counts>();
    const totals: Counts = [0, 0, 0, 0];
    const sources = new Map<string, { kind: TrackedKind; source: string; count: number; lastSeen: number }>();
    for (const { p, bucketMs: width } of parts) {
      for (let i = 0; i < 4; i++) totals[i]! += p.totals[i]!;
      for (const [b, ...c] of p.buckets) {
        const e = at(b, width);
        if (!inWindow(e)) continue;
        const sum = byEpoch.get(e) ?? [0, 0, 0, 0];
        for (let i = 0; i < 4; i++) sum[i]! += c[i]!;
        byEpoch.set(e, sum);
      }
      for (const s of p.sources) {
        let count = 0;
        for (const [b, n] of s.counts) if (inWindow(at(b, width))) count += n;
        if (count === 0) continue;
        const k = `${s.kind} ${s.source}`;
        const had = sources.get(k);
        if (had) {
          had.count += count;
          had.lastSeen = Math.max(had.lastSeen, s.lastSeen);
        } else sources.set(k, { kind: s.kind, source: s.source, count, lastSeen: s.lastSeen });
      }
    }
    const window = { mtls: 0, plaintext: 0, handshakeFailures: 0, rbacDenied: 0 };
    for (const [m, pt, hf, rd] of byEpoch.values()) {
      window.mtls += m;
      window.plaintext += pt;
      window.handshakeFailures += hf;
      window.rbacDenied += rd;
    }
    const series: { at: string; mtls: number; plaintext: number }[] = [];
    for (let x = oldest; x <= epoch; x++) {
      const c = byEpoch.get(x);
      series.push({ at: new Date(x * bucketMs).toISOString(), mtls: c?.[0] ?? 0, plaintext: c?.[1] ?? 0 });
    }
    const bounded = this.#bound([...sources.values()]);
    const plaintextSources = bounded('plaintext');
    const r = readinessOf(declared.evidenceAvailable, window, plaintextSources, windowMs);
    return {
      service: declared.service,
      port: declared.port,
      evidenceAvailable: declared.evidenceAvailable,
      readiness: r.readiness,
      readinessReason: r.reason,
      window: window satisfies WindowCounts,
      totals: { mtls: totals[0], plaintext: totals[1], handshakeFailures: totals[2], rbacDenied: totals[3] },
      mtlsCallers: bounded('mtls'),
      plaintextSources,
      rbacDeniedCallers: bounded('rbac_denied'),
      series,
    };
  }

  /**
   * The per-port source bound over the merged sources, as one replica keeps it: the most frequent named sources
   * (all kinds together) keep their names, the rest count under "other" of their kind.
   */
  #bound(all: { kind: TrackedKind; source: string; count: number; lastSeen: number }[]): (kind: TrackedKind) => SourceCount[] {
    const max = this.#o.maxSourcesPerPort ?? DEFAULT_MAX_SOURCES_PER_PORT;
    const named = all.filter((s) => s.source !== OTHER_SOURCE).sort((a, b) => b.count - a.count || a.source.localeCompare(b.source));
    const kept = named.slice(0, max);
    const other = new Map<TrackedKind, { count: number; lastSeen: number }>();
    for (const s of [...named.slice(max), ...all.filter((x) => x.source === OTHER_SOURCE)]) {
      const o = other.get(s.kind) ?? { count: 0, lastSeen: 0 };
      o.count += s.count;
      o.lastSeen = Math.max(o.lastSeen, s.lastSeen);
      other.set(s.kind, o);
    }
    return (kind) => {
      const out: SourceCount[] = kept.filter((s) => s.kind === kind).map((s) => ({ source: s.source, count: s.count, lastSeen: new Date(s.lastSeen).toISOString() }));
      const o = other.get(kind);
      if (o) out.push({ source: OTHER_SOURCE, count: o.count, lastSeen: new Date(o.lastSeen).toISOString() });
      return out.sort((a, b) => b.count - a.count || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
    };
  }
}

const bad = (why: string): never => {
  throw new TrustplaneError('EVIDENCE_SUMMARY_INVALID', `a replica's shared traffic evidence is not valid (${why}); written by a newer or broken replica?`);
};
const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const KINDS: readonly TrackedKind[] = ['mtls', 'plaintext', 'rbac_denied'];
/** Bounds on what is read back: one window of buckets per port and per source, a generous number of ports and sources. */
const MAX_BUCKETS = BUCKETS + 1;
const MAX_PORTS = 100_000;
const MAX_SOURCES = 3 * 1024;

/** A summary as read from the datastore, checked field by field (it came from another process). */
export function decodeEvidenceBuckets(doc: unknown): EvidenceBuckets {
  const d = doc as Partial<EvidenceBuckets> | null;
  if (!d || typeof d !== 'object' || !isCount(d.windowMs) || !isCount(d.bucketMs) || d.bucketMs === 0 || !Array.isArray(d.ports)) return bad('not an evidence summary');
  if (d.ports.length > MAX_PORTS) bad(`${d.ports.length} ports`);
  const ports = d.ports.map((p: Partial<PortBuckets>): PortBuckets => {
    if (!p || typeof p.service !== 'string' || !isCount(p.port) || typeof p.evidenceAvailable !== 'boolean') return bad('a port without service, port or evidenceAvailable');
    if (!Array.isArray(p.buckets) || p.buckets.length > MAX_BUCKETS || !p.buckets.every((b) => Array.isArray(b) && b.length === 5 && b.every(isCount))) return bad(`${p.service}:${p.port}: buckets`);
    if (!Array.isArray(p.totals) || p.totals.length !== 4 || !p.totals.every(isCount)) return bad(`${p.service}:${p.port}: totals`);
    if (!Array.isArray(p.sources) || p.sources.length > MAX_SOURCES) return bad(`${p.service}:${p.port}: sources`);
    for (const s of p.sources) {
      const ok = s && KINDS.includes(s.kind) && typeof s.source === 'string' && s.source.length <= 2048 && isCount(s.lastSeen) && Array.isArray(s.counts) && s.counts.length <= MAX_BUCKETS && s.counts.every((c: unknown) => Array.isArray(c) && (c as unknown[]).length === 2 && (c as unknown[]).every(isCount));
      if (!ok) bad(`${p.service}:${p.port}: a source`);
    }
    return p as PortBuckets;
  });
  return { windowMs: d.windowMs, bucketMs: d.bucketMs, ports };
}
