// The dashboard's routes on the admin address of a real control plane: who sees what (the operator, by the token in
// the data directory or by a login link's cookie, gets the page, the JSON and the events; anyone else a 401 saying
// how to get in, and no identities), assets served by trustplane itself, read-only, the bound on open event
// streams, and a clean close.
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { startAdminServer, type AdminServer } from '../../src/control-plane/admin-http.js';
import { adminTokenFile } from '../../src/control-plane/admin-access.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { Dashboard } from '../../src/dashboard/dashboard.js';
import type { DashboardDocument } from '../../src/dashboard/model.js';
import { silentLogger } from '../../src/observe/log.js';
import { SseClient } from './sse-client.js';

let dir: string;
let cp: ControlPlane;
let base: string;
let OPERATOR: { authorization: string };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-dash-http-'));
  const meshFile = join(dir, 'mesh.yaml');
  writeFileSync(meshFile, readFileSync(join(process.cwd(), 'examples', 'mesh.yaml'), 'utf8'));
  cp = await ControlPlane.start(
    { dataDir: join(dir, 'data'), meshFile, unixSocket: join(dir, 'data', 'xds.sock'), tcpAddress: '', adminAddress: '127.0.0.1:0', insecure: false, drainMs: 0 },
    { clock: systemClock, logger: silentLogger, watch: false },
  );
  base = `http://${cp.adminAddress}`;
  OPERATOR = { authorization: `Bearer ${readFileSync(adminTokenFile(join(dir, 'data')), 'utf8').trim()}` };
});

after(async () => {
  await cp.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A second dashboard on its own admin server, over the same control plane, with room for two live pages. */
async function smallDashboard(): Promise<{ dashboard: Dashboard; base: string; close(): Promise<void> }> {
  const dashboard = new Dashboard(
    {
      now: () => cp.clock.now(),
      trustDomain: cp.store.trustDomain,
      rollout: () => cp.rolloutStatus(),
      proxies: () => cp.xds.status(),
      svids: () => cp.store.svids(),
      bundles: () => cp.store.bundles(),
      changes: [(l) => cp.xds.onStatusChange(l)],
    },
    { howToSignIn: () => 'ask the operator', maxClients: 2 },
  );
  const admin: AdminServer = await startAdminServer('127.0.0.1:0', {
    ready: () => cp.ready(),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    json: () => undefined,
    handlers: [dashboard.handler],
  });
  return {
    dashboard,
    base: `http://${admin.address}`,
    async close() {
      dashboard.close();
      await admin.close();
    },
  };
}

/** Every string that would identify a workload or proxy: SPIFFE IDs and SVID serials. */
function identities(): string[] {
  return cp.store.svids().flatMap((s) => [s.spiffeId, s.serial]);
}

describe('dashboard over HTTP', () => {
  test('a caller who is not the operator gets a 401 with one line on how to get in, and no identity', async () => {
    for (const path of ['/dashboard/api', '/dashboard/events']) {
      for (const headers of [{}, { authorization: 'Bearer not-the-token' }, { cookie: 'trustplane_admin=forged' }] as Record<string, string>[]) {
        const r = await fetch(`${base}${path}`, { headers });
        assert.equal(r.status, Object.keys(headers).length ? 403 : 401, `${path} ${JSON.stringify(headers)}`);
        const text = await r.text();
        assert.match(text, /^(unauthorized|forbidden): this page shows proxy identities .*admin-token.*\n$/);
        assert.equal(text.split('\n').length, 2, 'one line');
        for (const id of identities()) assert.ok(!text.includes(id), `${path} shows no ${id}`);
      }
    }
    const page = await fetch(`${base}/dashboard`);
    assert.equal(page.status, 401);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    const html = await page.text();
    assert.match(html, /only the operator may open it\. Open the one-time login link that `trustplane serve` printed when it started, or get a new one with `trustplane admin link --admin 127\.0\.0\.1:\d+ --data-dir /);
    for (const id of [...identities(), 'example.org']) assert.ok(!html.includes(id), `the sign-in page shows no ${id}`);
    // Assets carry no data: anyone may load them (the sign-in page uses the stylesheet).
    assert.equal((await fetch(`${base}/dashboard/assets/dashboard.css`)).status, 200);
  });

  test('a one-time login link gives the browser a cookie; the admin root leads to the dashboard', async () => {
    const link = (await (await fetch(`${base}/login/link`, { headers: OPERATOR })).json()) as { path: string };
    const login = await fetch(`${base}${link.path}`, { redirect: 'manual' });
    assert.equal(login.status, 303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const root = await fetch(`${base}${login.headers.get('location')}`, { headers: { cookie }, redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/dashboard');
    const page = await fetch(`${base}/dashboard`, { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /migration dashboard/);
    assert.equal((await fetch(`${base}/dashboard/api`, { headers: { cookie } })).status, 200);
    assert.equal((await fetch(`${base}${link.path}`, { redirect: 'manual' })).status, 403, 'a link works once');
  });

  test('the operator gets the page, the JSON (every port, SVID and bundle) and the events', async () => {
    const page = await fetch(`${base}/dashboard`, { headers: OPERATOR });
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy')!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    const html = await page.text();
    assert.match(html, /<script type="module" src="\/dashboard\/assets\/app\.js"><\/script>/);
    assert.doesNotMatch(html, /https?:\/\/(?!www\.w3)/, 'no asset from another origin');

    const api = await fetch(`${base}/dashboard/api`, { headers: OPERATOR });
    assert.equal(api.status, 200);
    const doc = (await api.json()) as DashboardDocument;
    assert.deepEqual(doc.ports.map((p) => `${p.service}:${p.port} ${p.asked}/${p.inForce}`), cp.rolloutStatus().ports.map((p) => `${p.service}:${p.port} ${p.asked}/${p.inForce}`));
    assert.deepEqual(new Set(doc.svids.map((s) => s.spiffeId)), new Set(identities().filter((x) => x.startsWith('spiffe://'))));
    assert.equal(doc.trustDomains[0]!.trustDomain, 'example.org');
    assert.equal(doc.windowMs, 24 * 3_600_000, 'the evidence window of `serve` (24 h by default)');
    assert.doesNotMatch(JSON.stringify(doc), /PRIVATE KEY/);

    const events = await SseClient.open(`${base}/dashboard/events`, OPERATOR);
    assert.equal(events.res.statusCode, 200);
    assert.equal(events.res.headers['content-type'], 'text/event-stream; charset=utf-8');
    await events.until((e) => e.length === 1, 'first document');
    assert.equal((JSON.parse(events.events[0]!.data) as DashboardDocument).ports.length, doc.ports.length);
    events.close();
  });

  test('assets are served by trustplane itself: uPlot as npm ships it, the compiled page script; ETags; unknown names 404', async () => {
    const require = createRequire(import.meta.url);
    const r = await fetch(`${base}/dashboard/assets/uPlot.iife.min.js`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^text\/javascript/);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'))));
    const etag = r.headers.get('etag')!;
    assert.equal((await fetch(`${base}/dashboard/assets/uPlot.iife.min.js`, { headers: { 'if-none-match': etag } })).status, 304);
    const app = await fetch(`${base}/dashboard/assets/app.js`);
    assert.equal(app.status, 200);
    assert.match(await app.text(), /new EventSource\('\/dashboard\/events'\)/);
    const missing = await fetch(`${base}/dashboard/assets/..%2f..%2fpackage.json`);
    assert.equal(missing.status, 404);
    assert.equal((await fetch(`${base}/dashboard/nope`, { headers: OPERATOR })).status, 404);
  });

  test('read-only: any method but GET is refused', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await fetch(`${base}/dashboard/api`, { method, headers: OPERATOR });
      assert.equal(r.status, 405, method);
    }
  });

  test('open event streams are bounded: the next one gets a 503 with the reason; closing one frees its place', async () => {
    const { dashboard, base, close } = await smallDashboard();
    const a = await SseClient.open(`${base}/dashboard/events`, OPERATOR);
    const b = await SseClient.open(`${base}/dashboard/events`, OPERATOR);
    await a.until((e) => e.length === 1, 'first document');
    await b.until((e) => e.length === 1, 'first document');
    const refused = await fetch(`${base}/dashboard/events`, { headers: OPERATOR });
    assert.equal(refused.status, 503);
    assert.equal(await refused.text(), 'too many open dashboards (at most 2 live pages at once); close another dashboard tab and reload\n');
    a.close();
    await new Promise<void>((resolve) => {
      const check = (): void => (dashboard.feed.clients < 2 ? resolve() : void setImmediate(check));
      check();
    });
    const c = await SseClient.open(`${base}/dashboard/events`, OPERATOR);
    assert.equal(c.res.statusCode, 200);
    b.close();
    c.close();
    await close();
  });
});

describe('dashboard in `serve`', () => {
  test('served on the admin address; closing the control plane ends open event streams instead of waiting on them', async () => {
    const d = mkdtempSync(join(tmpdir(), 'tp-dash-serve-'));
    try {
      const meshFile = join(d, 'mesh.yaml');
      writeFileSync(meshFile, readFileSync(join(process.cwd(), 'examples', 'mesh.yaml'), 'utf8'));
      const served = await ControlPlane.start(
        { dataDir: join(d, 'data'), meshFile, unixSocket: '', tcpAddress: '', adminAddress: '127.0.0.1:0', insecure: false, drainMs: 0 },
        { clock: systemClock, logger: silentLogger, watch: false },
      );
      const token = readFileSync(adminTokenFile(join(d, 'data')), 'utf8').trim();
      const events = await SseClient.open(`http://${served.adminAddress}/dashboard/events`, { authorization: `Bearer ${token}` });
      await events.until((e) => e.length === 1, 'first document');
      assert.equal((JSON.parse(events.events[0]!.data) as DashboardDocument).trustDomain, 'example.org');
      await served.close();
      await events.end();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
