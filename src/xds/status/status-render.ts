// Pure text renderers for `trustplane status` (a table like `istioctl proxy-status`) and
// `trustplane status --proxy ID` (that proxy's secrets). They take the JSON snapshot, so the CLI can render
// what it fetched from a running server.
import type { ProxyStatus, ProxyStatusSnapshot, SyncState, TypeStatus } from './proxy-status.js';
import { STATUS_COLUMNS, TYPE_SECRET } from '../type-urls.js';

/** "42s", "5m", "3h", "2d". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n') + '\n';
}

function since(t: TypeStatus): string | undefined {
  switch (t.state) {
    case 'SYNCED':
      return t.ackedAt;
    case 'NACKED':
      return t.lastNack?.at;
    case 'STALE':
      return t.sentAt;
    default:
      return undefined;
  }
}

function cell(p: ProxyStatus, typeUrl: string, now: number): string {
  const t = p.types.find((x) => x.typeUrl === typeUrl);
  if (!t) return p.service === 'sds' && typeUrl !== TYPE_SECRET ? '-' : 'NOT SENT';
  const at = since(t);
  const state: SyncState = t.state;
  return at === undefined ? state : `${state} (${formatAge(now - Date.parse(at))})`;
}

export function renderProxyStatusTable(snapshot: ProxyStatusSnapshot, now: number): string {
  if (snapshot.proxies.length === 0) return 'No proxies connected.\n';
  // Replicas (serve --datastore) report every replica's proxies, each with the replica it is connected to.
  const replicaOf = (p: ProxyStatus): string | undefined => (p as { replica?: string }).replica;
  const replicas = snapshot.proxies.some((p) => replicaOf(p) !== undefined);
  const header = ['NAME', 'CLUSTER', 'PRINCIPAL', 'STREAM', ...(replicas ? ['REPLICA'] : []), ...STATUS_COLUMNS.map((c) => c.column), 'CONNECTED'];
  const rows = snapshot.proxies.map((p) => [
    p.nodeId || '(no node id)',
    p.cluster || '-',
    p.principal,
    `${p.service}/${p.variant}`,
    ...(replicas ? [replicaOf(p) ?? '-'] : []),
    ...STATUS_COLUMNS.map((c) => cell(p, c.typeUrl, now)),
    formatAge(now - Date.parse(p.connectedSince)),
  ]);
  return table([header, ...rows]);
}

/** The secrets of every stream of one proxy (matched by node id). */
export function renderProxySecrets(snapshot: ProxyStatusSnapshot, nodeId: string, now: number): string {
  const streams = snapshot.proxies.filter((p) => p.nodeId === nodeId);
  if (streams.length === 0) return `No connected proxy with node id ${JSON.stringify(nodeId)}.\n`;
  const rows: string[][] = [['NAME', 'TYPE', 'SERIAL', 'NOT BEFORE', 'NOT AFTER', 'STATE', 'SINCE']];
  for (const p of streams) {
    for (const r of p.types.find((t) => t.typeUrl === TYPE_SECRET)?.resources ?? []) {
      const s = r.secret;
      const at = r.answeredAt ?? r.sentAt;
      rows.push([
        r.name,
        s ? (s.kind === 'tls_certificate' ? 'Cert Chain' : `CA (${s.trustDomains.join(', ')})`) : '-',
        s?.kind === 'tls_certificate' ? s.serial : '-',
        s?.kind === 'tls_certificate' ? s.notBefore : '-',
        s?.kind === 'tls_certificate' ? s.notAfter : '-',
        r.state + (r.error ? `: ${r.error}` : ''),
        at === undefined ? '-' : formatAge(now - Date.parse(at)),
      ]);
    }
  }
  if (rows.length === 1) return `Proxy ${JSON.stringify(nodeId)} has no secrets.\n`;
  // Left-out names are kept as counts and a sample: say how many the sample stands for.
  let leftOut = 0;
  let shown = 0;
  for (const p of streams) {
    const t = p.types.find((x) => x.typeUrl === TYPE_SECRET);
    leftOut += Object.values(t?.leftOut ?? {}).reduce((a, n) => a + n, 0);
    shown += t?.resources.filter((r) => r.state === 'NOT_FOUND' || r.state === 'DENIED' || r.state === 'INVALID').length ?? 0;
  }
  return table(rows) + (leftOut > shown ? `… and ${leftOut - shown} more requested names left out (not shown)\n` : '');
}
