// What each connected proxy has been sent and what it said about it: per stream, per type and per name, the
// version and nonce sent, ACK or NACK (with the NACK's message) and when. Streams write into a ProxyRecord;
// snapshot() turns records into plain JSON for the status endpoint, the CLI renderers and CSDS. Names a stream
// asked for that were left out (not there, not allowed, not valid) are kept as counts and a small sample, so a
// status page stays small whatever a caller subscribes to.
import { shown } from '../server/limits.js';
import type { ResolvedResource, SecretSummary } from '../protocol/resolution.js';
import { PerType, typeName } from '../type-urls.js';
import { SmallMap } from './small-map.js';

export type SyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT SENT';
export type ResourceState = 'ACKED' | 'NACKED' | 'SENT' | 'NOT_FOUND' | 'DENIED' | 'INVALID';

export interface ResourceStatus {
  readonly name: string;
  readonly state: ResourceState;
  readonly version?: string;
  readonly nonce?: string;
  readonly sentAt?: string;
  /** When the ACK or NACK of the last response carrying this name arrived. */
  readonly answeredAt?: string;
  /** NACK message, or why the name was left out. */
  readonly error?: string;
  readonly secret?: SecretSummary;
}

export type LeftOutState = 'NOT_FOUND' | 'DENIED' | 'INVALID';

/** How many subscribed names of a type were left out at the latest response, by why. */
export type LeftOutCounts = Partial<Record<LeftOutState, number>>;

/** Left-out names shown per stream and type; the rest are counted. */
export const LEFT_OUT_SAMPLE = 10;

export interface TypeStatus {
  readonly typeUrl: string;
  readonly type: string;
  readonly state: SyncState;
  readonly versionSent?: string;
  readonly nonceSent?: string;
  readonly sentAt?: string;
  readonly ackedNonce?: string;
  readonly ackedAt?: string;
  readonly lastNack?: { readonly nonce: string; readonly message: string; readonly at: string };
  /** Resources sent, then at most LEFT_OUT_SAMPLE of the names left out (names and reasons shortened). */
  readonly resources: readonly ResourceStatus[];
  /** Every name left out, counted by why (present when there is any). */
  readonly leftOut?: LeftOutCounts;
}

export interface ProxyStatus {
  /** Unique per stream on this server. */
  readonly streamId: string;
  readonly nodeId: string;
  readonly cluster: string;
  readonly principal: string;
  readonly service: 'ads' | 'sds';
  readonly variant: 'sotw' | 'delta';
  readonly connectedSince: string;
  readonly types: readonly TypeStatus[];
}

export interface ProxyStatusSnapshot {
  readonly generatedAt: string;
  readonly proxies: readonly ProxyStatus[];
}

interface ResourceRecord {
  state: ResourceState;
  version?: string;
  nonce?: string;
  sentAt?: number;
  answeredAt?: number;
  error?: string;
  secret?: SecretSummary;
}

interface TypeRecord {
  versionSent?: string;
  nonceSent?: string;
  sentAt?: number;
  ackedNonce?: string;
  ackedAt?: number;
  lastNack?: { nonce: string; message: string; at: number };
  /** Whether the latest answer, since the latest response, was a NACK. */
  nackedSinceSent: boolean;
  resources: SmallMap<ResourceRecord>;
  leftOut?: LeftOutSummary;
}

/** Built by a stream while it resolves names for one response. */
export class LeftOutSummary {
  readonly counts: Record<LeftOutState, number> = { NOT_FOUND: 0, DENIED: 0, INVALID: 0 };
  readonly sample: ResourceStatus[] = [];
  total = 0;

  /** `why.reason` is read only for the sample. */
  add(name: string, state: LeftOutState, why?: { readonly reason: string }): void {
    this.counts[state]++;
    this.total++;
    if (this.sample.length < LEFT_OUT_SAMPLE) this.sample.push(why === undefined ? { name: shown(name), state } : { name: shown(name), state, error: shown(why.reason, 256) });
  }
}

/** What changed in the proxy status; the rollout keeps its counts up to date from these. */
export type ProxyStatusEvent =
  | { readonly kind: 'opened' | 'closed'; readonly proxy: ProxyRecord }
  /** Something was sent to, ACKed or NACKed by this proxy for this type. */
  | { readonly kind: 'changed'; readonly proxy: ProxyRecord; readonly typeUrl: string };

const iso = (t: number | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString());

export interface ProxyIdentity {
  readonly streamId: string;
  readonly nodeId: string;
  readonly cluster: string;
  readonly principal: string;
  readonly service: 'ads' | 'sds';
  readonly variant: 'sotw' | 'delta';
  readonly connectedSince: number;
}

export class ProxyRecord implements ProxyIdentity {
  readonly #types = new PerType<TypeRecord>();
  /** Told of every response sent, ACK and NACK (the registry sets it), for whoever waits on proxies (the rollout). */
  onChange: ((r: ProxyRecord, typeUrl: string) => void) | undefined;
  readonly streamId: string;
  readonly nodeId: string;
  readonly cluster: string;
  readonly principal: string;
  readonly service: 'ads' | 'sds';
  readonly variant: 'sotw' | 'delta';
  readonly connectedSince: number;

  // The identity's fields are kept on the record itself: one object per stream fewer.
  constructor(id: ProxyIdentity) {
    this.streamId = id.streamId;
    this.nodeId = id.nodeId;
    this.cluster = id.cluster;
    this.principal = id.principal;
    this.service = id.service;
    this.variant = id.variant;
    this.connectedSince = id.connectedSince;
  }

  get identity(): ProxyIdentity {
    return this;
  }

  /** Where this proxy stands on one resource, without building a snapshot. */
  resource(typeUrl: string, name: string): { readonly state: ResourceState; readonly version?: string; readonly error?: string } | undefined {
    return this.#types.get(typeUrl)?.resources.get(name);
  }

  /** A response went out carrying these resources (and, for Delta, telling the client these names are gone). */
  sent(typeUrl: string, nonce: string, version: string, at: number, resources: readonly ResolvedResource[], removed: readonly string[] = []): void {
    const t = this.#type(typeUrl);
    t.versionSent = version;
    t.nonceSent = nonce;
    t.sentAt = at;
    t.nackedSinceSent = false;
    for (const r of resources) {
      // Resent unchanged (SotW sends every name each time): the proxy's verdict on that version still stands.
      const prev = t.resources.get(r.name);
      if (prev && prev.version === r.version && (prev.state === 'ACKED' || prev.state === 'NACKED')) continue;
      // Every field set up front: an object that gains fields later gets a second backing store.
      t.resources.set(r.name, { state: 'SENT', version: r.version, nonce, sentAt: at, answeredAt: undefined, error: undefined, secret: r.secret });
    }
    // Gone names are counted with the left-out ones (leftOut), not kept one by one.
    for (const name of removed) t.resources.delete(name);
    this.onChange?.(this, typeUrl);
  }

  /** The names left out when the latest response of this type was built (replaces the previous summary). */
  leftOut(typeUrl: string, summary: LeftOutSummary | undefined): void {
    const t = this.#type(typeUrl);
    t.leftOut = summary === undefined || summary.total === 0 ? undefined : summary;
  }

  /** A name no longer sent: unsubscribed, or left out. */
  forget(typeUrl: string, name: string): void {
    this.#types.get(typeUrl)?.resources.delete(name);
  }

  ack(typeUrl: string, nonce: string, at: number): void {
    this.#answered(typeUrl, nonce, at, undefined);
  }

  nack(typeUrl: string, nonce: string, message: string, at: number): void {
    this.#answered(typeUrl, nonce, at, message);
  }

  /** The proxy's verdict on the response with this nonce (a NACK carries its message), for the type and its resources. */
  #answered(typeUrl: string, nonce: string, at: number, nackMessage: string | undefined): void {
    const t = this.#type(typeUrl);
    const nacked = nackMessage !== undefined;
    if (nacked) {
      t.lastNack = { nonce, message: nackMessage, at };
    } else {
      t.ackedNonce = nonce;
      t.ackedAt = at;
    }
    if (nonce === t.nonceSent) t.nackedSinceSent = nacked;
    for (const r of t.resources.values()) {
      if (r.nonce !== nonce || r.state !== 'SENT') continue;
      r.state = nacked ? 'NACKED' : 'ACKED';
      r.answeredAt = at;
      if (nacked) r.error = nackMessage;
    }
    this.onChange?.(this, typeUrl);
  }

  snapshot(): ProxyStatus {
    const id: ProxyIdentity = this;
    return {
      streamId: id.streamId,
      nodeId: id.nodeId,
      cluster: id.cluster,
      principal: id.principal,
      service: id.service,
      variant: id.variant,
      connectedSince: new Date(id.connectedSince).toISOString(),
      types: [...this.#types.entries()].map(([typeUrl, t]) => typeSnapshot(typeUrl, t)),
    };
  }

  #type(typeUrl: string): TypeRecord {
    let t = this.#types.get(typeUrl);
    if (!t) {
      t = { versionSent: undefined, nonceSent: undefined, sentAt: undefined, ackedNonce: undefined, ackedAt: undefined, lastNack: undefined, nackedSinceSent: false, resources: new SmallMap(), leftOut: undefined };
      this.#types.set(typeUrl, t);
    }
    return t;
  }
}

function syncState(t: TypeRecord): SyncState {
  if (t.nonceSent === undefined) return 'NOT SENT';
  if (t.ackedNonce === t.nonceSent) return 'SYNCED';
  return t.nackedSinceSent ? 'NACKED' : 'STALE';
}

function typeSnapshot(typeUrl: string, t: TypeRecord): TypeStatus {
  const sent: ResourceStatus[] = [...t.resources.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, r]) => strip({
      name,
      state: r.state,
      version: r.version,
      nonce: r.nonce,
      sentAt: iso(r.sentAt),
      answeredAt: iso(r.answeredAt),
      error: r.error,
      secret: r.secret,
    }));
  const resources = t.leftOut ? [...sent, ...t.leftOut.sample] : sent;
  const leftOut = t.leftOut && (Object.fromEntries(Object.entries(t.leftOut.counts).filter(([, n]) => n > 0)) as LeftOutCounts);
  return strip({
    typeUrl,
    type: typeName(typeUrl),
    state: syncState(t),
    versionSent: t.versionSent,
    nonceSent: t.nonceSent,
    sentAt: iso(t.sentAt),
    ackedNonce: t.ackedNonce,
    ackedAt: iso(t.ackedAt),
    lastNack: t.lastNack && { nonce: t.lastNack.nonce, message: t.lastNack.message, at: iso(t.lastNack.at)! },
    resources,
    leftOut,
  });
}

/** Drops undefined fields so the JSON form has no nulls and compares cleanly. */
function strip<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Every live stream's record. */
export class ProxyStatusRegistry {
  readonly #records = new Set<ProxyRecord>();
  readonly #listeners = new Set<(e: ProxyStatusEvent) => void>();
  // Runs on every push and ACK: nothing is allocated when nobody listens (the usual case outside `serve`).
  readonly #changed = (proxy: ProxyRecord, typeUrl: string): void => {
    if (this.#listeners.size) this.#emit({ kind: 'changed', proxy, typeUrl });
  };

  add(r: ProxyRecord): void {
    this.#records.add(r);
    r.onChange = this.#changed;
    if (this.#listeners.size) this.#emit({ kind: 'opened', proxy: r });
  }

  remove(r: ProxyRecord): void {
    r.onChange = undefined;
    if (this.#records.delete(r) && this.#listeners.size) this.#emit({ kind: 'closed', proxy: r });
  }

  /**
   * Called after a stream opens or closes and after every response, ACK or NACK, synchronously, with what
   * changed: keep listeners cheap (O(1) per event).
   */
  onChange(listener: (e: ProxyStatusEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get size(): number {
    return this.#records.size;
  }

  /** Every live record (for whoever keeps its own counts, and needs a starting point). */
  records(): Iterable<ProxyRecord> {
    return this.#records;
  }

  /** Plain JSON of the records `include` selects (all by default), sorted by node ID. */
  snapshot(now: number, include?: (id: ProxyIdentity) => boolean): ProxyStatusSnapshot {
    const proxies: ProxyStatus[] = [];
    for (const r of this.#records) if (!include || include(r.identity)) proxies.push(r.snapshot());
    proxies.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : Number(a.streamId) - Number(b.streamId)));
    return { generatedAt: new Date(now).toISOString(), proxies };
  }

  #emit(e: ProxyStatusEvent): void {
    for (const l of this.#listeners) l(e);
  }
}
