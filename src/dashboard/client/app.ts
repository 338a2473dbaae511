// The dashboard page's script (runs in the browser; compiled with the project and served by trustplane). It opens
// the event stream, renders each document it receives, and never asks the server to change anything. Every value
// from the server goes into the page as text (textContent), never as HTML: node IDs and source addresses come from
// proxies and callers.
import type UPlot from 'uplot';
import type { DashboardDocument, PortRow, ProxyRow, Series, SvidRow, TrustDomainRow } from '../model.js';

const uPlotCtor = (globalThis as unknown as { uPlot: typeof UPlot }).uPlot;

type Child = Node | string | null | undefined | false;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

const $ = (id: string): HTMLElement => document.getElementById(id)!;
const pct = (x: number | null): string => (x === null ? '—' : `${Math.round(x * 100)}%`);
const two = (n: number): string => String(n).padStart(2, '0');
// Local time, written the same way in every locale: operators compare these with logs.
const time = (iso: string): string => {
  const d = new Date(iso);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
};
const dateTime = (iso: string): string => {
  const d = new Date(iso);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${time(iso)}`;
};

/** "in 42m", "3m ago": relative to the document's own time, so a paused page does not lie. */
function relative(ms: number): string {
  const a = Math.abs(ms);
  const s = a < 60_000 ? `${Math.round(a / 1000)}s` : a < 3_600_000 ? `${Math.round(a / 60_000)}m` : a < 172_800_000 ? `${(a / 3_600_000).toFixed(1)}h` : `${Math.round(a / 86_400_000)}d`;
  return ms >= 0 ? `in ${s}` : `${s} ago`;
}

function windowText(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`;
}

const mode = (m: string): HTMLElement => el('span', { class: `mode ${m}` }, m);

// ---- charts: one uPlot per port, kept across updates and fed new data -------------------------------------------

interface Chart {
  readonly plot: UPlot;
  readonly box: HTMLElement;
}
const charts = new Map<string, Chart>();

/** uPlot's columns: bucket start times (seconds) and the mTLS share in % (null where the bucket saw nothing). */
function shareSeries(s: Series): [number[], (number | null)[]] {
  const from = Date.parse(s.from);
  const xs = s.mtls.map((_, i) => (from + i * s.bucketMs) / 1000);
  const ys = s.mtls.map((m, i) => {
    const n = m + s.plaintext[i]!;
    return n === 0 ? null : (100 * m) / n;
  });
  return [xs, ys];
}

function chart(key: string, data: [number[], (number | null)[]], size: { width: number; height: number }, axes: boolean): HTMLElement {
  let c = charts.get(key);
  if (!c) {
    const box = el('div', { class: axes ? 'overall' : 'spark', 'data-chart': key });
    const opts: UPlot.Options = {
      ...size,
      legend: { show: false },
      cursor: { show: axes },
      select: { show: false, left: 0, top: 0, width: 0, height: 0 },
      scales: { y: { range: [0, 100] } },
      axes: axes ? [{ size: 24, font: '11px system-ui' }, { size: 44, font: '11px system-ui', values: (_u, v) => v.map((x) => `${x}%`) }] : [{ show: false }, { show: false }],
      series: [{}, { label: 'mTLS share', stroke: '#1b5fbf', fill: 'rgba(27,95,191,0.15)', width: 1.5, spanGaps: false, points: { show: axes } }],
    };
    c = { plot: new uPlotCtor(opts, data, box), box };
    charts.set(key, c);
  } else {
    c.plot.setData(data);
  }
  return c.box;
}

function dropCharts(keep: Set<string>): void {
  for (const [k, c] of charts) {
    if (keep.has(k)) continue;
    c.plot.destroy();
    charts.delete(k);
  }
}

// ---- sections ---------------------------------------------------------------------------------------------------

function card(key: string, value: string, label: string, cls = ''): HTMLElement {
  return el('div', { class: `card ${cls}`, 'data-card': key }, el('div', { class: 'v' }, value), el('div', { class: 'k' }, label));
}

function renderSummary(doc: DashboardDocument): void {
  const s = doc.summary;
  // The overall share per bucket: the ports' buckets line up (one window, one bucket size), so sum by start time.
  const byAt = new Map<number, { mtls: number; plaintext: number }>();
  for (const p of doc.ports) {
    const s = p.series;
    if (!s) continue;
    const from = Date.parse(s.from);
    s.mtls.forEach((m, i) => {
      const at = from + i * s.bucketMs;
      const t = byAt.get(at) ?? { mtls: 0, plaintext: 0 };
      t.mtls += m;
      t.plaintext += s.plaintext[i]!;
      byAt.set(at, t);
    });
  }
  const times = [...byAt.keys()].sort((a, b) => a - b);
  const overall: Series | null = times.length
    ? { from: new Date(times[0]!).toISOString(), bucketMs: times.length > 1 ? times[1]! - times[0]! : doc.windowMs ?? 0, mtls: times.map((t) => byAt.get(t)!.mtls), plaintext: times.map((t) => byAt.get(t)!.plaintext) }
    : null;
  const shareCard = el('div', { class: 'card chart', 'data-card': 'mtls-share' },
    el('div', { class: 'v' }, pct(s.mtlsShare)),
    el('div', { class: 'k' }, doc.windowMs === null ? 'mTLS share: no traffic evidence collected' : `of connections used mTLS, all ports, last ${windowText(doc.windowMs)}`),
    overall ? chart('overall', shareSeries(overall), { width: 300, height: 90 }, true) : null);
  $('summary').replaceChildren(
    card('ports', `${s.strictInForce} / ${s.ports}`, `ports in STRICT (${s.services} services)`),
    card('ready', String(s.readyForStrict), 'ports ready for STRICT', s.readyForStrict ? 'good' : ''),
    card('held', String(s.held), 'ports held below STRICT', s.held ? 'bad' : ''),
    shareCard,
    card('proxies', `${s.proxies - s.proxiesNotSynced} / ${s.proxies}`, 'proxies in sync', s.proxiesNotSynced ? 'bad' : ''),
    card('svids', String(s.svidsExpired + s.svidsExpiring), `SVIDs expired (${s.svidsExpired}) or expiring within 10 min`, s.svidsExpired + s.svidsExpiring ? 'bad' : 'good'),
  );
}

const READINESS: Record<PortRow['readiness'], string> = { ready: 'ready', not_ready: 'not ready', no_evidence: 'no evidence' };

function sources(p: PortRow, now: number): HTMLElement {
  if (p.window === null) return el('span', { class: 'muted' }, '—');
  if (p.plaintextSources.length === 0) return el('span', { class: 'muted' }, p.window.plaintext ? `${p.window.plaintext} connections` : 'none in the window');
  const list = el('ul', { class: 'list' });
  for (const s of p.plaintextSources) {
    list.append(el('li', { 'data-source': s.source }, el('code', {}, s.source), ` ${s.count} × · ${relative(Date.parse(s.lastSeen) - now)}`));
  }
  if (p.moreSources > 0) list.append(el('li', { class: 'muted' }, `and ${p.moreSources} more sources (see ${'/dashboard/api'})`));
  return list;
}

function renderPorts(doc: DashboardDocument, now: number): void {
  const body = document.querySelector<HTMLTableSectionElement>('#ports tbody')!;
  const rows = doc.ports.map((p) => {
    const key = `${p.service}:${p.port}`;
    const counts = p.window ? `${p.window.mtls} mTLS · ${p.window.plaintext} plaintext${p.window.handshakeFailures ? ` · ${p.window.handshakeFailures} TLS failures` : ''}${p.window.rbacDenied ? ` · ${p.window.rbacDenied} denied` : ''}` : 'no evidence';
    // The gate's own sentence first when it holds or forces the port; then what the rollout waits for.
    const gateLine = p.strictGate && p.strictGate.state !== 'allowed' && !p.why.includes(p.strictGate.reason) ? [p.strictGate.reason] : [];
    const lines = [...gateLine, ...p.why];
    const why = lines.length
      ? el('ul', { class: 'list' }, ...lines.map((w) => el('li', { class: /^held\b/i.test(w) || (w === gateLine[0] && p.strictGate?.state === 'held') ? 'held' : '' }, w)))
      : el('span', { class: 'ok muted' }, 'done');
    const gate = p.strictGate?.state === 'forced' ? el('div', { class: 'forced', title: p.strictGate.reason }, 'forced STRICT (force: true)')
      : p.held ? el('div', { class: 'held', title: p.strictGate?.reason ?? '' }, 'held below STRICT') : null;
    return el('tr', { 'data-port': key, 'data-held': String(p.held) },
      el('td', { class: 'service' }, p.service),
      el('td', { class: 'num' }, String(p.port)),
      el('td', { class: 'modes' }, el('span', { class: 'mode-asked' }, mode(p.asked)), el('span', { class: 'arrow' }, '→'), el('span', { class: 'mode-in-force' }, mode(p.inForce)), gate),
      el('td', { class: `readiness ${p.readiness}`, title: p.readinessReason }, READINESS[p.readiness], el('div', { class: 'muted' }, p.readinessReason)),
      el('td', { title: [counts, ...p.mtlsCallers.map((c) => `mTLS from ${c.source}: ${c.count}`)].join('\n') }, el('div', { class: 'share' }, el('span', { class: 'pct' }, pct(p.mtlsShare)), p.series ? chart(key, shareSeries(p.series), { width: 140, height: 36 }, false) : null), el('div', { class: 'muted counts' }, counts)),
      el('td', { class: 'sources' }, sources(p, now)),
      el('td', { class: 'why' }, why),
    );
  });
  body.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '7', class: 'muted' }, 'The mesh description declares no inbound ports.'))]));
}

function renderProxies(proxies: readonly ProxyRow[]): void {
  const body = document.querySelector<HTMLTableSectionElement>('#proxies tbody')!;
  const rows = proxies.map((p) =>
    el('tr', { 'data-proxy': p.nodeId, 'data-state': p.state },
      el('td', {}, el('code', {}, p.nodeId || '(no node id)'), p.cluster ? el('div', { class: 'muted' }, `cluster ${p.cluster}`) : null),
      el('td', {}, el('code', {}, p.principal)),
      el('td', {}, p.api),
      el('td', { class: 'nowrap' }, dateTime(p.connectedSince)),
      el('td', {}, ...p.types.map((t) =>
        el('div', { 'data-type': t.type },
          el('span', { class: `pill ${t.state.replace(' ', '_')}`, title: t.version ? `version ${t.version}` : '' }, `${t.type} ${t.state}`),
          t.error ? ' ' : null,
          t.error ? el('span', { class: 'nack' }, t.error) : null))),
    ),
  );
  body.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '5', class: 'muted' }, 'No proxy is connected.'))]));
}

function renderSvids(svids: readonly SvidRow[]): void {
  const body = document.querySelector<HTMLTableSectionElement>('#svids tbody')!;
  body.replaceChildren(...svids.map((s) =>
    el('tr', { 'data-state': s.state, 'data-svid': s.spiffeId },
      el('td', {}, el('code', {}, s.spiffeId)),
      el('td', {}, el('code', {}, s.serial)),
      el('td', { class: 'nowrap' }, dateTime(s.notAfter)),
      el('td', { class: s.state }, s.state === 'expired' ? `expired ${relative(s.expiresInMs)}` : relative(s.expiresInMs)),
    )));
}

function renderBundles(tds: readonly TrustDomainRow[]): void {
  $('bundles').replaceChildren(...tds.map((td) =>
    el('div', { class: 'bundle', 'data-trust-domain': td.trustDomain },
      el('h3', {}, td.trustDomain, el('span', { class: 'muted' }, td.local ? ' (this control plane issues here)' : ' (federated)'), td.sequence !== undefined ? el('span', { class: 'muted' }, ` sequence ${td.sequence}`) : null),
      el('table', {},
        el('thead', {}, el('tr', {}, el('th', {}, 'CA subject'), el('th', {}, 'Serial'), el('th', {}, 'Not after'))),
        el('tbody', {}, ...td.authorities.map((a) =>
          el('tr', { 'data-state': a.state, title: `SHA-256 ${a.sha256}` },
            el('td', {}, a.subject),
            el('td', {}, el('code', {}, a.serial)),
            el('td', { class: `nowrap ${a.state}` }, dateTime(a.notAfter))))))),
  ));
}

function render(doc: DashboardDocument, revision: string): void {
  const now = Date.parse(doc.generatedAt);
  $('trust-domain').textContent = `trust domain ${doc.trustDomain}`;
  $('window').textContent = doc.windowMs === null ? 'no traffic evidence collected' : `evidence window ${windowText(doc.windowMs)}`;
  const keep = new Set(['overall', ...doc.ports.filter((p) => p.series).map((p) => `${p.service}:${p.port}`)]);
  renderSummary(doc);
  renderPorts(doc, now);
  renderProxies(doc.proxies);
  renderSvids(doc.svids);
  renderBundles(doc.trustDomains);
  dropCharts(keep);
  const live = $('live');
  live.className = 'live on';
  live.textContent = `live · updated ${time(doc.generatedAt)}`;
  // For whoever watches the page (a person, or the browser test): which update is on screen.
  document.body.dataset['revision'] = revision;
}

function connect(): void {
  const live = $('live');
  const events = new EventSource('/dashboard/events');
  events.addEventListener('dashboard', (e) => {
    const m = e as MessageEvent<string>;
    render(JSON.parse(m.data) as DashboardDocument, m.lastEventId);
  });
  events.addEventListener('error', () => {
    if (events.readyState === EventSource.CONNECTING) {
      live.className = 'live off';
      live.textContent = 'disconnected; reconnecting…';
      return;
    }
    // Closed for good (401, 503): the server's one line says why.
    live.className = 'live off';
    void fetch('/dashboard/api')
      .then(async (r) => (r.ok ? 'the event stream was refused (too many open dashboards?); reload to try again' : (await r.text()).trim()))
      .catch(() => 'the control plane cannot be reached')
      .then((why) => {
        live.textContent = `not live: ${why}`;
      });
  });
}

connect();
