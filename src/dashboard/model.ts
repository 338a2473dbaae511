// The migration dashboard's document: what the page and GET /dashboard/api show, built by one pure function from
// what the control plane already knows (the rollout, the traffic evidence, the xDS server's proxy status, the
// identity store). The page renders this document and nothing else, so what the dashboard shows is decided here.
import type { X509Certificate } from 'node:crypto';
import type { Mode } from '../mesh/model.js';
import type { RolloutStatus } from '../rollout/status.js';
import type { X509Bundle } from '../spiffe/bundle.js';
import type { X509SvidRecord } from '../store/identity-store.js';
import type { PortEvidence, Readiness, SourceCount, StrictGateState, WindowCounts } from '../traffic/evidence-view.js';
import type { ProxyStatusSnapshot, SyncState } from '../xds/status/proxy-status.js';

/** An SVID that expires within this long is highlighted as expiring. */
export const EXPIRING_WITHIN_MS = 10 * 60_000;
/** Sources listed per port on the page; the rest are summed into `moreSources`. */
export const SOURCES_SHOWN = 10;

export type { Readiness } from '../traffic/evidence-view.js';

export interface PortRow {
  readonly service: string;
  readonly port: number;
  readonly listener: string;
  readonly asked: Mode;
  readonly inForce: Mode;
  /** Asked for STRICT but something keeps the port below it (the STRICT gate, or a client on DISABLE). */
  readonly held: boolean;
  /** What the STRICT gate decided, when the port asks for STRICT and evidence is collected. */
  readonly strictGate?: StrictGateState;
  /** The rollout is where the description asks and every proxy ACKed it. */
  readonly done: boolean;
  /** Why the port is not (yet) where the description asks, most blocking first. */
  readonly why: readonly string[];
  readonly readiness: Readiness;
  /** One sentence for `readiness`. */
  readonly readinessReason: string;
  /** null: no evidence collected for this port. */
  readonly window: WindowCounts | null;
  /** mTLS / (mTLS + plaintext) over the window; null when no connection was seen. */
  readonly mtlsShare: number | null;
  /** Connections per bucket of the window, oldest first (the page plots mTLS / (mTLS + plaintext)); null: none. */
  readonly series: Series | null;
  readonly plaintextSources: readonly SourceCount[];
  readonly mtlsCallers: readonly SourceCount[];
  /** Sources beyond the ones listed (plaintext + mTLS). */
  readonly moreSources: number;
}

/**
 * Buckets as columns: bucket i starts at from + i × bucketMs. A port's 48 buckets take ~300 bytes this way instead
 * of ~3 KB as objects with a timestamp each, which is most of the document for a large mesh.
 */
export interface Series {
  readonly from: string;
  readonly bucketMs: number;
  readonly mtls: readonly number[];
  readonly plaintext: readonly number[];
}

export interface ProxyTypeRow {
  readonly type: string;
  readonly state: SyncState;
  readonly version?: string;
  /** The NACK's error text, while the latest response stands NACKed. */
  readonly error?: string;
  readonly at?: string;
}

export interface ProxyRow {
  readonly nodeId: string;
  readonly cluster: string;
  readonly principal: string;
  readonly stream: string;
  readonly api: string;
  readonly connectedSince: string;
  readonly types: readonly ProxyTypeRow[];
  /** The worst state over its types: NACKED > STALE > NOT SENT > SYNCED. */
  readonly state: SyncState;
}

export type ExpiryState = 'expired' | 'expiring' | 'valid';

export interface SvidRow {
  readonly spiffeId: string;
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** Negative when expired. */
  readonly expiresInMs: number;
  readonly state: ExpiryState;
}

export interface AuthorityRow {
  readonly subject: string;
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly state: ExpiryState;
  readonly sha256: string;
}

export interface TrustDomainRow {
  readonly trustDomain: string;
  /** The trust domain this control plane issues in (others are federated). */
  readonly local: boolean;
  readonly sequence?: number;
  readonly authorities: readonly AuthorityRow[];
}

export interface DashboardSummary {
  readonly services: number;
  readonly ports: number;
  readonly strictInForce: number;
  readonly readyForStrict: number;
  readonly held: number;
  readonly proxies: number;
  readonly proxiesNotSynced: number;
  readonly svidsExpired: number;
  readonly svidsExpiring: number;
  /** Over every port with evidence, over the window; null when no connection was seen. */
  readonly mtlsShare: number | null;
}

export interface DashboardDocument {
  readonly generatedAt: string;
  readonly trustDomain: string;
  /** The evidence window, or null when no traffic evidence is collected. */
  readonly windowMs: number | null;
  readonly summary: DashboardSummary;
  readonly ports: readonly PortRow[];
  readonly proxies: readonly ProxyRow[];
  readonly svids: readonly SvidRow[];
  readonly trustDomains: readonly TrustDomainRow[];
}

export interface DashboardInputs {
  readonly now: number;
  readonly trustDomain: string;
  readonly rollout: RolloutStatus;
  /** Absent when no traffic evidence is collected. */
  readonly evidence?: { readonly windowMs: number; port(service: string, port: number): PortEvidence | undefined };
  readonly proxies: ProxyStatusSnapshot;
  readonly svids: readonly X509SvidRecord[];
  readonly bundles: readonly X509Bundle[];
}

export function buildDashboard(inputs: DashboardInputs): DashboardDocument {
  const ports = inputs.rollout.ports.map((p) => portRow(p, inputs));
  const proxies = inputs.proxies.proxies.map(proxyRow);
  const svids = inputs.svids.map((s) => svidRow(s, inputs.now)).sort(bySoonest);
  const trustDomains = inputs.bundles.map((b) => trustDomainRow(b, inputs.trustDomain, inputs.now));
  let mtls = 0;
  let plain = 0;
  for (const p of ports) {
    mtls += p.window?.mtls ?? 0;
    plain += p.window?.plaintext ?? 0;
  }
  return {
    generatedAt: new Date(inputs.now).toISOString(),
    trustDomain: inputs.trustDomain,
    windowMs: inputs.evidence?.windowMs ?? null,
    summary: {
      services: new Set(ports.map((p) => p.service)).size,
      ports: ports.length,
      strictInForce: ports.filter((p) => p.inForce === 'STRICT').length,
      readyForStrict: ports.filter((p) => p.readiness === 'ready').length,
      held: ports.filter((p) => p.held).length,
      proxies: proxies.length,
      proxiesNotSynced: proxies.filter((p) => p.state !== 'SYNCED').length,
      svidsExpired: svids.filter((s) => s.state === 'expired').length,
      svidsExpiring: svids.filter((s) => s.state === 'expiring').length,
      mtlsShare: share(mtls, plain),
    },
    ports,
    proxies,
    svids,
    trustDomains,
  };
}

function share(mtls: number, plaintext: number): number | null {
  return mtls + plaintext === 0 ? null : mtls / (mtls + plaintext);
}

/**
 * The port's readiness for STRICT as the traffic evidence states it (the rule lives there, once). A port the
 * evidence has no entry for has served nothing in the window, so it is not ready; no evidence view at all means
 * nothing is collected.
 */
export function readinessOf(e: PortEvidence | undefined, windowMs: number | undefined): { readiness: Readiness; reason: string } {
  if (windowMs === undefined) return { readiness: 'no_evidence', reason: 'no traffic evidence is collected by this control plane' };
  if (!e) return { readiness: 'not_ready', reason: `no connection seen in the last ${duration(windowMs)}` };
  return { readiness: e.readiness, reason: e.readinessReason };
}

function portRow(p: RolloutStatus['ports'][number], inputs: DashboardInputs): PortRow {
  const e = inputs.evidence?.port(p.service, p.port);
  const { readiness, reason } = readinessOf(e, inputs.evidence?.windowMs);
  const plaintextSources = e?.plaintextSources.slice(0, SOURCES_SHOWN) ?? [];
  const mtlsCallers = e?.mtlsCallers.slice(0, SOURCES_SHOWN) ?? [];
  const held = e?.strictGate?.state === 'held' || (p.asked === 'STRICT' && p.inForce !== 'STRICT' && p.waitingFor.some((w) => /^held\b/i.test(w)));
  const row: PortRow = {
    service: p.service,
    port: p.port,
    listener: p.listener,
    asked: p.asked,
    inForce: p.inForce,
    held,
    done: p.done,
    why: p.waitingFor,
    readiness,
    readinessReason: reason,
    window: e ? e.window : null,
    mtlsShare: e ? share(e.window.mtls, e.window.plaintext) : null,
    series: e ? columns(e.series, inputs.evidence!.windowMs) : null,
    plaintextSources,
    mtlsCallers,
    moreSources: (e ? e.plaintextSources.length + e.mtlsCallers.length : 0) - plaintextSources.length - mtlsCallers.length,
  };
  return e?.strictGate ? { ...row, strictGate: e.strictGate } : row;
}

function columns(series: PortEvidence['series'], windowMs: number): Series | null {
  if (series.length === 0) return null;
  const from = Date.parse(series[0]!.at);
  return {
    from: series[0]!.at,
    // The evidence's buckets are evenly spaced; one bucket alone spans the window.
    bucketMs: series.length > 1 ? Date.parse(series[1]!.at) - from : windowMs,
    mtls: series.map((b) => b.mtls),
    plaintext: series.map((b) => b.plaintext),
  };
}

const SEVERITY: Record<SyncState, number> = { SYNCED: 0, 'NOT SENT': 1, STALE: 2, NACKED: 3 };

function proxyRow(p: ProxyStatusSnapshot['proxies'][number]): ProxyRow {
  const types: ProxyTypeRow[] = p.types.map((t) => {
    const row: { -readonly [K in keyof ProxyTypeRow]: ProxyTypeRow[K] } = { type: t.type, state: t.state };
    if (t.versionSent !== undefined) row.version = t.versionSent;
    if (t.state === 'NACKED' && t.lastNack) {
      row.error = t.lastNack.message;
      row.at = t.lastNack.at;
    } else if (t.ackedAt !== undefined) row.at = t.ackedAt;
    else if (t.sentAt !== undefined) row.at = t.sentAt;
    return row;
  });
  const state = types.reduce<SyncState>((w, t) => (SEVERITY[t.state] > SEVERITY[w] ? t.state : w), 'SYNCED');
  return {
    nodeId: p.nodeId,
    cluster: p.cluster,
    principal: p.principal,
    stream: p.streamId,
    api: `${p.service.toUpperCase()} ${p.variant === 'delta' ? 'Delta' : 'SotW'}`,
    connectedSince: p.connectedSince,
    types,
    state,
  };
}

function expiryState(notAfter: number, now: number): ExpiryState {
  if (notAfter <= now) return 'expired';
  return notAfter - now <= EXPIRING_WITHIN_MS ? 'expiring' : 'valid';
}

function svidRow(s: X509SvidRecord, now: number): SvidRow {
  const notAfter = s.notAfter.getTime();
  return {
    spiffeId: s.spiffeId,
    serial: s.serial,
    notBefore: s.notBefore.toISOString(),
    notAfter: s.notAfter.toISOString(),
    expiresInMs: notAfter - now,
    state: expiryState(notAfter, now),
  };
}

function bySoonest(a: SvidRow, b: SvidRow): number {
  return a.expiresInMs - b.expiresInMs || (a.spiffeId < b.spiffeId ? -1 : a.spiffeId > b.spiffeId ? 1 : 0);
}

function trustDomainRow(b: X509Bundle, local: string, now: number): TrustDomainRow {
  const row: TrustDomainRow = {
    trustDomain: b.trustDomain.name,
    local: b.trustDomain.name === local,
    authorities: b.x509Authorities.map((c) => authorityRow(c, now)).sort((x, y) => (x.notAfter < y.notAfter ? -1 : x.notAfter > y.notAfter ? 1 : 0)),
  };
  return b.sequence === undefined ? row : { ...row, sequence: b.sequence };
}

function authorityRow(c: X509Certificate, now: number): AuthorityRow {
  const notAfter = new Date(c.validTo);
  return {
    // node:crypto gives "CN=x\nO=y"; one line reads better in a table.
    subject: c.subject.split('\n').join(', '),
    serial: c.serialNumber.toUpperCase(),
    notBefore: new Date(c.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    state: expiryState(notAfter.getTime(), now),
    sha256: c.fingerprint256,
  };
}

/** "24h", "90m", "45s": the window as people say it. */
export function duration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}
