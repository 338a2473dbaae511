// Where the proxies of each service stand on each resource the rollout waits for, kept up to date as they answer.
// A step waits on one resource (a service's listener, a client's cluster) carrying one of a set of versions; the
// tracker counts, per such resource, the connected proxies of the service and those that ACKed or NACKed a
// version of the set. An ACK updates the counts of the resources of that proxy's service and type only (a few),
// never walks every stream; a new set of versions (after a push) recounts that one resource over that service's
// proxies. Fed either incrementally (the xDS server's events) or all at once from a status snapshot.
import type { AckProgress, Nack, ProxyRef } from './acks.js';

/** A live proxy as the rollout reads it; the xDS server's proxy records fit as they are. */
export interface TrackedProxy {
  readonly streamId: string;
  readonly nodeId: string;
  /** node.cluster: the service it says it runs. */
  readonly cluster: string;
  readonly principal: string;
  readonly service: 'ads' | 'sds';
  resource(typeUrl: string, name: string): { readonly state: string; readonly version?: string; readonly error?: string } | undefined;
}

/** What changed among the proxies (XdsServer.onStatusChange delivers exactly this). */
export type ProxyEvent =
  | { readonly kind: 'opened' | 'closed'; readonly proxy: TrackedProxy }
  | { readonly kind: 'changed'; readonly proxy: TrackedProxy; readonly typeUrl: string };

/** Where proxies come from when the controller is told of every change (XdsServer fits). */
export interface ProxyFeed {
  proxies(): Iterable<TrackedProxy>;
  onStatusChange(listener: (e: ProxyEvent) => void): () => void;
}

type Standing = 'acked' | 'nacked' | 'pending';

/** The one rule: where a proxy stands on a resource, given the versions that carry the step. */
export function standing(r: { readonly state: string; readonly version?: string } | undefined, versions: ReadonlySet<string>): Standing {
  if (versions.size === 0) return 'acked';
  const carries = r?.version !== undefined && versions.has(r.version);
  if (carries && r.state === 'ACKED') return 'acked';
  if (carries && r.state === 'NACKED') return 'nacked';
  return 'pending';
}

interface Tracked {
  readonly key: string;
  readonly service: string;
  readonly typeUrl: string;
  readonly name: string;
  versions: ReadonlySet<string>;
  readonly of: Map<TrackedProxy, Standing>;
  acked: number;
  settled: boolean;
}

export class AckTracker {
  readonly #isProxyOf: ((p: TrackedProxy, service: string) => boolean) | undefined;
  /** The proxies of each service: ADS streams whose node.cluster names it and that may hold it. */
  readonly #byService = new Map<string, Set<TrackedProxy>>();
  readonly #tracked = new Map<string, Tracked>();
  /** Tracked resources by service and type, and by service: what an event of one proxy can touch. */
  readonly #byServiceType = new Map<string, Set<Tracked>>();
  readonly #byServiceAll = new Map<string, Set<Tracked>>();
  #flipped = false;
  /** How many (proxy, resource) standings were worked out: the cost the tests count. */
  classified = 0;

  constructor(isProxyOf?: (p: TrackedProxy, service: string) => boolean) {
    this.#isProxyOf = isProxyOf;
  }

  /** Starts again from this set of proxies (a snapshot, or the live set after the policy changed). */
  resync(proxies: Iterable<TrackedProxy>): void {
    const before = new Map(this.#byService);
    this.#byService.clear();
    for (const p of proxies) if (this.#isMember(p)) this.#members(p.cluster).add(p);
    // Only services whose proxies changed are recounted: O(proxies) plus what changed, not O(tracked).
    for (const [service, members] of this.#byService) {
      const had = before.get(service);
      before.delete(service);
      if (!had || !sameSet(had, members)) for (const t of this.#byServiceAll.get(service) ?? []) this.#recount(t);
    }
    for (const service of before.keys()) for (const t of this.#byServiceAll.get(service) ?? []) this.#recount(t);
  }

  onEvent(e: ProxyEvent): void {
    const p = e.proxy;
    if (e.kind === 'changed') {
      if (!this.#byService.get(p.cluster)?.has(p)) return;
      for (const t of this.#byServiceType.get(`${p.cluster}\0${e.typeUrl}`) ?? []) this.#place(t, p);
      return;
    }
    if (e.kind === 'opened') {
      if (!this.#isMember(p)) return;
      this.#members(p.cluster).add(p);
      for (const t of this.#byServiceAll.get(p.cluster) ?? []) this.#place(t, p);
      return;
    }
    if (!this.#byService.get(p.cluster)?.delete(p)) return;
    for (const t of this.#byServiceAll.get(p.cluster) ?? []) {
      const was = t.of.get(p);
      t.of.delete(p);
      if (was === 'acked') t.acked--;
      this.#settle(t);
    }
  }

  /** Tracks a resource under `key` with the versions that carry its step; recounted only if they changed. */
  track(key: string, service: string, typeUrl: string, name: string, versions: ReadonlySet<string>): void {
    const had = this.#tracked.get(key);
    if (had && had.service === service && had.typeUrl === typeUrl && had.name === name) {
      if (sameSet(had.versions, versions)) return;
      had.versions = new Set(versions);
      this.#recount(had);
      return;
    }
    if (had) this.#untrack(had);
    const t: Tracked = { key, service, typeUrl, name, versions: new Set(versions), of: new Map(), acked: 0, settled: false };
    this.#tracked.set(key, t);
    index(this.#byServiceType, `${service}\0${typeUrl}`, t);
    index(this.#byServiceAll, service, t);
    this.#recount(t);
  }

  /** Stops tracking `key`. */
  untrack(key: string): void {
    const t = this.#tracked.get(key);
    if (t) this.#untrack(t);
  }

  /** Stops tracking every key not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const t of [...this.#tracked.values()]) if (!keep.has(t.key)) this.#untrack(t);
  }

  /** Every connected proxy of the resource's service ACKed a version carrying the step. O(1). */
  settled(key: string): boolean {
    return this.#tracked.get(key)?.settled ?? false;
  }

  /** Whether any resource became settled or unsettled since the last call: only then can a step be taken. */
  takeFlipped(): boolean {
    const f = this.#flipped;
    this.#flipped = false;
    return f;
  }

  /** The lists behind the counts, for the status page: O(proxies of the service). */
  progress(key: string): AckProgress {
    const t = this.#tracked.get(key);
    const connected: ProxyRef[] = [];
    const acked: ProxyRef[] = [];
    const nacked: Nack[] = [];
    const pending: ProxyRef[] = [];
    if (!t) return { connected, acked, nacked, pending };
    for (const [p, s] of [...t.of].sort(([a], [b]) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : Number(a.streamId) - Number(b.streamId)))) {
      const ref = { nodeId: p.nodeId, streamId: p.streamId };
      connected.push(ref);
      if (s === 'acked') acked.push(ref);
      else if (s === 'nacked') nacked.push({ ...ref, message: p.resource(t.typeUrl, t.name)?.error ?? '' });
      else pending.push(ref);
    }
    return { connected, acked, nacked, pending };
  }

  #isMember(p: TrackedProxy): boolean {
    return p.service === 'ads' && (this.#isProxyOf?.(p, p.cluster) ?? true);
  }

  #members(service: string): Set<TrackedProxy> {
    let s = this.#byService.get(service);
    if (!s) this.#byService.set(service, (s = new Set()));
    return s;
  }

  #recount(t: Tracked): void {
    t.of.clear();
    t.acked = 0;
    for (const p of this.#byService.get(t.service) ?? []) this.#place(t, p, false);
    this.#settle(t);
  }

  #place(t: Tracked, p: TrackedProxy, settle = true): void {
    this.classified++;
    const now = standing(p.resource(t.typeUrl, t.name), t.versions);
    const was = t.of.get(p);
    if (was === now) return;
    t.of.set(p, now);
    if (was === 'acked') t.acked--;
    if (now === 'acked') t.acked++;
    if (settle) this.#settle(t);
  }

  #settle(t: Tracked): void {
    const settled = t.acked === t.of.size;
    if (settled !== t.settled) this.#flipped = true;
    t.settled = settled;
  }

  #untrack(t: Tracked): void {
    this.#tracked.delete(t.key);
    this.#byServiceType.get(`${t.service}\0${t.typeUrl}`)?.delete(t);
    this.#byServiceAll.get(t.service)?.delete(t);
  }
}

function index(m: Map<string, Set<Tracked>>, k: string, t: Tracked): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(t);
}

function sameSet<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  if (a.size !== b.size) return false;
  for (const v of a) if (!b.has(v)) return false;
  return true;
}
