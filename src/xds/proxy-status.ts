// What each connected proxy has been sent and what it said about it: per stream, per type and per name, the
// version and nonce sent, ACK or NACK (with the NACK's message) and when. Streams write into a ProxyRecord;
// snapshot() turns every record into plain JSON for the status endpoint, the CLI renderers and CSDS.
import type { ResolvedResource, SecretSummary } from './resolution.js';
import { typeName } from './type-urls.js';

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
  readonly resources: readonly ResourceStatus[];
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
  resources: Map<string, ResourceRecord>;
}

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

export class ProxyRecord {
  readonly #types = new Map<string, TypeRecord>();
  /** Told of every ACK and NACK (the registry sets it), for whoever waits on proxies, like the rollout. */
  onAnswer: (() => void) | undefined;

  constructor(readonly identity: ProxyIdentity) {}

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
      t.resources.set(r.name, { state: 'SENT', version: r.version, nonce, sentAt: at, ...(r.secret ? { secret: r.secret } : {}) });
    }
    for (const name of removed) t.resources.set(name, { state: 'NOT_FOUND', nonce, sentAt: at });
  }

  /** A subscribed name that is not sent: it does not exist (yet), or the caller may not have it. */
  absent(typeUrl: string, name: string, state: 'NOT_FOUND' | 'DENIED' | 'INVALID', reason?: string): void {
    const t = this.#type(typeUrl);
    const prev = t.resources.get(name);
    if (prev && prev.state === state && prev.error === reason) return;
    t.resources.set(name, reason === undefined ? { state } : { state, error: reason });
  }

  forget(typeUrl: string, name: string): void {
    this.#types.get(typeUrl)?.resources.delete(name);
  }

  ack(typeUrl: string, nonce: string, at: number): void {
    const t = this.#type(typeUrl);
    t.ackedNonce = nonce;
    t.ackedAt = at;
    if (nonce === t.nonceSent) t.nackedSinceSent = false;
    for (const r of t.resources.values()) {
      if (r.nonce === nonce && r.state === 'SENT') {
        r.state = 'ACKED';
        r.answeredAt = at;
      }
    }
    this.onAnswer?.();
  }

  nack(typeUrl: string, nonce: string, message: string, at: number): void {
    const t = this.#type(typeUrl);
    t.lastNack = { nonce, message, at };
    if (nonce === t.nonceSent) t.nackedSinceSent = true;
    for (const r of t.resources.values()) {
      if (r.nonce === nonce && r.state === 'SENT') {
        r.state = 'NACKED';
        r.answeredAt = at;
        r.error = message;
      }
    }
    this.onAnswer?.();
  }

  snapshot(): ProxyStatus {
    const id = this.identity;
    return {
      streamId: id.streamId,
      nodeId: id.nodeId,
      cluster: id.cluster,
      principal: id.principal,
      service: id.service,
      variant: id.variant,
      connectedSince: new Date(id.connectedSince).toISOString(),
      types: [...this.#types].map(([typeUrl, t]) => typeSnapshot(typeUrl, t)),
    };
  }

  #type(typeUrl: string): TypeRecord {
    let t = this.#types.get(typeUrl);
    if (!t) {
      t = { nackedSinceSent: false, resources: new Map() };
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
  const resources: ResourceStatus[] = [...t.resources]
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
  readonly #listeners = new Set<() => void>();
  // Runs on every ACK: no copy of the listener set when nobody listens (the usual case outside `serve`).
  readonly #notify = (): void => {
    if (this.#listeners.size === 0) return;
    for (const l of [...this.#listeners]) l();
  };

  add(r: ProxyRecord): void {
    this.#records.add(r);
    r.onAnswer = this.#notify;
    this.#notify();
  }

  remove(r: ProxyRecord): void {
    r.onAnswer = undefined;
    if (this.#records.delete(r)) this.#notify();
  }

  /** Called after a stream opens or closes and after every ACK or NACK, synchronously: keep listeners cheap. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get size(): number {
    return this.#records.size;
  }

  snapshot(now: number): ProxyStatusSnapshot {
    const proxies = [...this.#records].map((r) => r.snapshot());
    proxies.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : Number(a.streamId) - Number(b.streamId)));
    return { generatedAt: new Date(now).toISOString(), proxies };
  }
}
