// The traffic evidence: per service port, connections by kind over a sliding window and since start, mTLS
// callers and plaintext sources with counts and last seen. Pure state over an injected clock; the access-log
// receiver writes it, the STRICT gate, strict-check, /rollout, metrics and the dashboard read it.
//
// The window is a ring of buckets (BUCKETS per window, plus the one being filled), so a connection counts for at
// least the window and at most one bucket longer: the gate never forgets plaintext early. Memory is bounded
// whatever the traffic: at most `maxSourcesPerPort` distinct sources per port (mTLS callers, plaintext sources
// and denied callers together); further ones are counted under "other". A source whose connections all left
// the window gives its place back.
import type { Clock } from '../clock.js';
import type { BucketSource, ConnectionKind, EvidenceBuckets, PortBuckets, PortEvidence, SourceCount, TrafficEvidenceView, WindowCounts } from './evidence-view.js';
import { readinessOf } from './readiness.js';

export const DEFAULT_WINDOW_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_MAX_SOURCES_PER_PORT = 32;
/** Buckets per window: 48 = half an hour each for the default 24 h. */
export const BUCKETS = 48;
export const OTHER_SOURCE = 'other';

const KINDS: readonly ConnectionKind[] = ['mtls', 'plaintext', 'handshake_failure', 'rbac_denied'];
const KIND_INDEX: Readonly<Record<ConnectionKind, number>> = { mtls: 0, plaintext: 1, handshake_failure: 2, rbac_denied: 3 };
/** Kinds whose sources are kept by name (handshake failures are only counted). */
type TrackedKind = 'mtls' | 'plaintext' | 'rbac_denied';

export interface EvidenceOptions {
  readonly clock: Clock;
  readonly windowMs?: number;
  readonly maxSourcesPerPort?: number;
}

/** A port the mesh declares; only these are counted. */
export interface KnownPort {
  readonly service: string;
  readonly port: number;
  /** False for targets that send no access logs (proxyless gRPC), or with access logs turned off. */
  readonly evidenceAvailable: boolean;
}

class Source {
  lastSeen = 0;
  constructor(readonly counts: Uint32Array) {}
}

class SourceTable {
  readonly named = new Map<string, Source>();
  other: Source | undefined;
}

export const portKeyOf = (service: string, port: number): string => `${service}:${port}`;

class PortState {
  /** Epoch (bucket number) each ring slot holds; counts of a slot are valid only for that epoch. */
  readonly epochs: Float64Array;
  /** Per slot, per kind. */
  readonly counts: Uint32Array;
  readonly totals = new Float64Array(4);
  readonly sources: Readonly<Record<TrackedKind, SourceTable>> = { mtls: new SourceTable(), plaintext: new SourceTable(), rbac_denied: new SourceTable() };
  named = 0;
  current = -1;
  /** The evidence's revision when this port last counted a connection (0: never). */
  revision = 0;

  constructor(
    readonly known: KnownPort,
    readonly slots: number,
  ) {
    this.epochs = new Float64Array(slots).fill(-1);
    this.counts = new Uint32Array(slots * 4);
  }
}

function empty(): WindowCounts {
  return { mtls: 0, plaintext: 0, handshakeFailures: 0, rbacDenied: 0 };
}

export class TrafficEvidence implements TrafficEvidenceView {
  readonly windowMs: number;
  readonly bucketMs: number;
  readonly maxSourcesPerPort: number;
  readonly #clock: Clock;
  readonly #slots = BUCKETS + 1;
  #ports = new Map<string, PortState>();
  /** The same ports by service, then port: the per-entry lookup builds no key string. */
  #byService = new Map<string, Map<number, PortState>>();
  readonly #listeners = new Set<() => void>();
  #changePending = false;
  /** Bumped on every connection counted: what the gate compares to skip ports whose evidence did not change. */
  #revision = 0;

  constructor(opts: EvidenceOptions) {
    this.#clock = opts.clock;
    this.windowMs = opts.windowMs ?? DEFAULT_WINDOW_MS;
    this.bucketMs = Math.max(1, Math.ceil(this.windowMs / BUCKETS));
    this.maxSourcesPerPort = opts.maxSourcesPerPort ?? DEFAULT_MAX_SOURCES_PER_PORT;
  }

  /** The ports the mesh declares now. Evidence of ports that stay is kept; of ports that left, dropped. */
  setPorts(ports: readonly KnownPort[]): void {
    const before = this.#ports;
    this.#ports = new Map();
    this.#byService = new Map();
    for (const k of ports) this.#declare(k, before.get(portKeyOf(k.service, k.port)));
    this.#changed();
  }

  /**
   * The ports of some services only (a reload that changed a few services): every port of each service named in
   * `services` is replaced by those of `ports` that belong to it. O(ports of those services).
   */
  updatePorts(services: Iterable<string>, ports: readonly KnownPort[]): void {
    const before = new Map<string, PortState>();
    for (const name of services) {
      for (const p of this.#byService.get(name)?.values() ?? []) {
        const key = portKeyOf(p.known.service, p.known.port);
        before.set(key, p);
        this.#ports.delete(key);
      }
      this.#byService.delete(name);
    }
    for (const k of ports) this.#declare(k, before.get(portKeyOf(k.service, k.port)));
    this.#changed();
  }

  #declare(k: KnownPort, had: PortState | undefined): void {
    let state = had;
    if (!had || had.known.evidenceAvailable !== k.evidenceAvailable) {
      state = new PortState(k, this.#slots);
      if (had) copyInto(had, state);
    }
    this.#ports.set(portKeyOf(k.service, k.port), state!);
    let m = this.#byService.get(k.service);
    if (!m) this.#byService.set(k.service, (m = new Map()));
    m.set(k.port, state!);
  }

  /**
   * Changes whenever what readiness reads of any port may have changed: a connection counted, or time moving the
   * window on by a bucket. For the STRICT gate, which decides again only when this changed.
   */
  revision(): string {
    return `${this.#revision}@${this.#epoch(this.#clock.now())}`;
  }

  /** The same for one port: constant while it has never counted a connection (its readiness cannot change). */
  portRevision(service: string, port: number): string | number {
    const p = this.#byService.get(service)?.get(port);
    if (!p || p.revision === 0) return 0;
    return `${p.revision}@${this.#epoch(this.#clock.now())}`;
  }

  /** What readiness reads of a port (window counts, plaintext sources), without the rest of port(). */
  readinessInputs(service: string, port: number): Pick<PortEvidence, 'window' | 'plaintextSources'> | undefined {
    const p = this.#byService.get(service)?.get(port);
    if (!p) return undefined;
    const slots = this.#validSlots(p, this.#clock.now());
    return { window: windowOf(p, slots), plaintextSources: this.#sourceCounts(p, 'plaintext', slots) };
  }

  /** Whether the mesh declares this port (entries for any other port are refused). */
  knows(service: string, port: number): boolean {
    return this.#ports.has(portKeyOf(service, port));
  }

  /** Counts one connection at `now` (default: the clock's now). False when the port is not declared. */
  record(service: string, port: number, kind: ConnectionKind, source: string, now = this.#clock.now()): boolean {
    const p = this.#byService.get(service)?.get(port);
    if (!p) return false;
    const slot = this.#rotate(p, now);
    p.counts[slot * 4 + KIND_INDEX[kind]]!++;
    p.totals[KIND_INDEX[kind]]!++;
    if (kind !== 'handshake_failure') {
      const src = this.#source(p, kind, source);
      src.counts[slot]!++;
      src.lastSeen = Math.max(src.lastSeen, now);
    }
    p.revision = ++this.#revision;
    this.#changed();
    return true;
  }

  ports(): readonly PortEvidence[] {
    const now = this.#clock.now();
    return [...this.#ports.values()].map((p) => this.#evidence(p, now));
  }

  port(service: string, port: number): PortEvidence | undefined {
    const p = this.#ports.get(portKeyOf(service, port));
    return p && this.#evidence(p, this.#clock.now());
  }

  /** Whether the port is ready for STRICT now (the cheap part of port(): window counts only). */
  isReady(service: string, port: number): boolean {
    const p = this.#byService.get(service)?.get(port);
    if (!p || !p.known.evidenceAvailable) return false;
    let mtls = 0;
    for (const slot of this.#validSlots(p, this.#clock.now())) {
      if (p.counts[slot * 4 + 1]! > 0) return false;
      mtls += p.counts[slot * 4]!;
    }
    return mtls > 0;
  }

  /** Totals since start per port and kind, for the connections counter. */
  totals(): Iterable<{ readonly service: string; readonly port: number; readonly kind: ConnectionKind; readonly count: number }> {
    const out: { service: string; port: number; kind: ConnectionKind; count: number }[] = [];
    for (const p of this.#ports.values()) {
      for (const kind of KINDS) out.push({ service: p.known.service, port: p.known.port, kind, count: p.totals[KIND_INDEX[kind]]! });
    }
    return out;
  }

  /** Every port's window as plain data, for replicas sharing their evidence (src/replica/global-evidence.ts). Read only. */
  exportBuckets(): EvidenceBuckets {
    const now = this.#clock.now();
    const ports: PortBuckets[] = [];
    for (const p of this.#ports.values()) {
      const slots = this.#validSlots(p, now).sort((a, b) => p.epochs[a]! - p.epochs[b]!);
      const buckets: [number, number, number, number, number][] = [];
      for (const slot of slots) {
        const c = p.counts.subarray(slot * 4, slot * 4 + 4);
        if (c.some((n) => n > 0)) buckets.push([p.epochs[slot]!, c[0]!, c[1]!, c[2]!, c[3]!]);
      }
      const sources: BucketSource[] = [];
      for (const kind of ['mtls', 'plaintext', 'rbac_denied'] as const) {
        const t = p.sources[kind];
        const entries: [string, Source][] = [...t.named];
        if (t.other) entries.push([OTHER_SOURCE, t.other]);
        for (const [source, s] of entries) {
          const counts = slots.filter((slot) => s.counts[slot]! > 0).map((slot): [number, number] => [p.epochs[slot]!, s.counts[slot]!]);
          if (counts.length) sources.push({ kind, source, lastSeen: s.lastSeen, counts });
        }
      }
      ports.push({ service: p.known.service, port: p.known.port, evidenceAvailable: p.known.evidenceAvailable, buckets, sources, totals: [p.totals[0]!, p.totals[1]!, p.totals[2]!, p.totals[3]!] });
    }
    return { windowMs: this.windowMs, bucketMs: this.bucketMs, ports };
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Told at most once per turn of the event loop, after the batch that changed something. */
  #changed(): void {
    if (this.#changePending || this.#listeners.size === 0) return;
    this.#changePending = true;
    setImmediate(() => {
      this.#changePending = false;
      for (const l of [...this.#listeners]) l();
    });
  }

  #epoch(now: number): number {
    return Math.floor(now / this.bucketMs);
  }

  /**
   * Moves the port's ring to `now`, clearing the slots it reuses; returns the slot of `now`. A time before the
   * port's latest bucket (the host clock stepped back) counts in that bucket: never in a slot reused since.
   */
  #rotate(p: PortState, now: number): number {
    const e = Math.max(this.#epoch(now), p.current);
    if (e > p.current) {
      const from = Math.max(p.current + 1, e - this.#slots + 1);
      for (let x = from; x <= e; x++) {
        const slot = x % this.#slots;
        p.epochs[slot] = x;
        p.counts.fill(0, slot * 4, slot * 4 + 4);
        for (const t of Object.values(p.sources)) {
          for (const s of t.named.values()) s.counts[slot] = 0;
          if (t.other) t.other.counts[slot] = 0;
        }
      }
      p.current = e;
      this.#prune(p);
    }
    return e % this.#slots;
  }

  /** Sources with nothing left in the window give their place back. */
  #prune(p: PortState): void {
    for (const t of Object.values(p.sources)) {
      for (const [name, s] of t.named) {
        if (s.counts.every((c) => c === 0)) {
          t.named.delete(name);
          p.named--;
        }
      }
    }
  }

  #source(p: PortState, kind: TrackedKind, name: string): Source {
    const t = p.sources[kind];
    const had = t.named.get(name);
    if (had) return had;
    if (p.named < this.maxSourcesPerPort) {
      const s = new Source(new Uint32Array(this.#slots));
      t.named.set(name, s);
      p.named++;
      return s;
    }
    return (t.other ??= new Source(new Uint32Array(this.#slots)));
  }

  /** Slots whose epoch lies in the window ending now. */
  #validSlots(p: PortState, now: number): number[] {
    const e = this.#epoch(now);
    const out: number[] = [];
    for (let slot = 0; slot < this.#slots; slot++) {
      const x = p.epochs[slot]!;
      if (x >= 0 && x > e - this.#slots && x <= e) out.push(slot);
    }
    return out;
  }

  #sourceCounts(p: PortState, kind: TrackedKind, slots: readonly number[]): SourceCount[] {
    const t = p.sources[kind];
    const out: SourceCount[] = [];
    const add = (name: string, s: Source): void => {
      let count = 0;
      for (const slot of slots) count += s.counts[slot]!;
      if (count > 0) out.push({ source: name, count, lastSeen: new Date(s.lastSeen).toISOString() });
    };
    for (const [name, s] of t.named) add(name, s);
    if (t.other) add(OTHER_SOURCE, t.other);
    return out.sort((a, b) => b.count - a.count || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  }

  #evidence(p: PortState, now: number): PortEvidence {
    const slots = this.#validSlots(p, now);
    const window = windowOf(p, slots);
    const e = this.#epoch(now);
    const series: { at: string; mtls: number; plaintext: number }[] = [];
    for (let x = e - this.#slots + 1; x <= e; x++) {
      const slot = ((x % this.#slots) + this.#slots) % this.#slots;
      const valid = p.epochs[slot] === x;
      series.push({ at: new Date(x * this.bucketMs).toISOString(), mtls: valid ? p.counts[slot * 4]! : 0, plaintext: valid ? p.counts[slot * 4 + 1]! : 0 });
    }
    const plaintextSources = this.#sourceCounts(p, 'plaintext', slots);
    const r = readinessOf(p.known.evidenceAvailable, window, plaintextSources, this.windowMs);
    return {
      service: p.known.service,
      port: p.known.port,
      evidenceAvailable: p.known.evidenceAvailable,
      readiness: r.readiness,
      readinessReason: r.reason,
      window,
      totals: { mtls: p.totals[0]!, plaintext: p.totals[1]!, handshakeFailures: p.totals[2]!, rbacDenied: p.totals[3]! },
      mtlsCallers: this.#sourceCounts(p, 'mtls', slots),
      plaintextSources,
      rbacDeniedCallers: this.#sourceCounts(p, 'rbac_denied', slots),
      series,
    };
  }
}

function windowOf(p: PortState, slots: readonly number[]): WindowCounts {
  const window = empty() as { -readonly [K in keyof WindowCounts]: WindowCounts[K] };
  for (const slot of slots) {
    window.mtls += p.counts[slot * 4]!;
    window.plaintext += p.counts[slot * 4 + 1]!;
    window.handshakeFailures += p.counts[slot * 4 + 2]!;
    window.rbacDenied += p.counts[slot * 4 + 3]!;
  }
  return window;
}

/** Keeps a port's counts when only its evidenceAvailable flag changed. */
function copyInto(from: PortState, to: PortState): void {
  to.epochs.set(from.epochs);
  to.counts.set(from.counts);
  to.totals.set(from.totals);
  to.current = from.current;
  to.named = from.named;
  to.revision = from.revision;
  for (const k of ['mtls', 'plaintext', 'rbac_denied'] as const) {
    for (const [n, s] of from.sources[k].named) to.sources[k].named.set(n, s);
    to.sources[k].other = from.sources[k].other;
  }
}
