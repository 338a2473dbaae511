// The dashboard in a real browser (Chromium from @sparticuz/chromium, driven by playwright-core), loading the page
// of a running control plane that real proxies talk to: access-log streams built from Envoy's v3 protos as Envoy
// sends them, and SDS streams that ACK or NACK. The operator signs in through the one-time login link; the page
// must show the services, their modes and mTLS shares, the held port and why, the proxies' sync status, the SVIDs
// and the bundle, then take a live update without a reload. A screenshot goes to test/artifacts/.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ManualClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TYPE_SECRET } from '../../src/xds/type-urls.js';
import { identifierMessage, sendStream, tcpBatch, unixClient, type Conn } from '../traffic/als-client.js';
import { PATHS, SotwClient } from '../xds/protocol/client.js';
import { launchBrowser } from './browser.js';

const UID = process.getuid?.() ?? 0;
const ID = (ns: string, sa: string) => `spiffe://example.org/ns/${ns}/sa/${sa}`;
const WEB = ID('shop', 'web');
const ORDERS = ID('shop', 'orders');
const REPORTS_HOST = '10.0.3.5';
const ARTIFACTS = join(process.cwd(), 'test', 'artifacts');

const rep = (n: number, c: Conn): Conn[] => Array.from({ length: n }, () => c);

describe('migration dashboard in a browser', () => {
  let dir: string;
  let clock: ManualClock;
  let cp: ControlPlane;
  let grpcClient: grpc.Client;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const streams: SotwClient[] = [];
  const pageErrors: string[] = [];

  /** One access-log stream of a service's proxy: identifier first, then one batch, as Envoy flushes it. */
  async function accessLogs(service: string, conns: Conn[]): Promise<void> {
    const r = await sendStream(grpcClient, [identifierMessage(`${service}-1`, service), tcpBatch(conns)]);
    assert.equal(r.code, grpc.status.OK, r.details);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-dash-browser-'));
    const meshFile = join(dir, 'mesh.yaml');
    // The shop of `npm start`, with every service's proxy run by this test's uid (the Unix socket's principal).
    const shop = readFileSync(join(process.cwd(), 'examples', 'mesh.yaml'), 'utf8').replace(/uid:\d+/g, `uid:${UID}`);
    writeFileSync(meshFile, shop);
    // Six hours before now, on a manual clock: the traffic below is spread over them.
    clock = new ManualClock(Date.now() - 6 * 3_600_000);
    const socket = join(dir, 'data', 'xds.sock');
    cp = await ControlPlane.start(
      { dataDir: join(dir, 'data'), meshFile, unixSocket: socket, tcpAddress: '', adminAddress: '127.0.0.1:0', insecure: false, drainMs: 0 },
      { clock, logger: silentLogger, watch: false },
    );
    grpcClient = unixClient(socket);

    // Six hours of traffic, half an hour at a time: callers move to mTLS, the batch job does not.
    for (let step = 0; step < 12; step++) {
      await accessLogs('web', [
        ...rep(12, { service: 'web', port: 15006, chain: 'plaintext', from: '10.0.0.10' }),
        ...rep(step, { service: 'web', port: 15006, chain: 'mtls', from: '10.0.1.4', spiffeId: ID('edge', 'gateway') }),
      ]);
      await accessLogs('orders', rep(10, { service: 'orders', port: 15006, mode: 'STRICT', chain: 'mtls', from: '10.0.1.2', spiffeId: WEB }));
      await accessLogs('payments', rep(8, { service: 'payments', port: 15006, mode: 'STRICT', chain: 'mtls', from: '10.0.1.3', spiffeId: ORDERS }));
      await accessLogs('inventory', [
        ...rep(2 + step, { service: 'inventory', port: 15006, chain: 'mtls', from: '10.0.1.2', spiffeId: WEB }),
        ...rep(step, { service: 'inventory', port: 15006, chain: 'mtls', from: '10.0.1.3', spiffeId: ORDERS }),
        ...rep(4, { service: 'inventory', port: 15006, chain: 'plaintext', from: REPORTS_HOST }),
        ...(step === 11 ? [{ service: 'inventory', port: 15006, chain: 'mtls' as const, from: '10.0.9.9', handshakeFailure: true }] : []),
      ]);
      clock.advance(30 * 60_000);
    }
    // Then the operator asks STRICT for inventory: the STRICT gate holds it, since reports still sends plaintext.
    writeFileSync(meshFile, shop.replace(/^ {4}# no mode: .*$/m, '    mode: STRICT'));
    assert.equal(cp.reload().ok, true);

    // Two SVIDs that another identity source put in the store (the store takes SVIDs from any source): one has
    // expired, one expires in five minutes. The page must put them first and mark them.
    cp.store.setSvid(cp.ca.mintX509Svid(SpiffeId.parse(ID('batch', 'nightly')), { ttlMs: 60_000 }));
    clock.advance(2 * 60_000);
    cp.store.setSvid(cp.ca.mintX509Svid(SpiffeId.parse(ID('batch', 'hourly')), { ttlMs: 5 * 60_000 }));

    // Proxies on SDS: web's ACKs its secrets (SYNCED); inventory's rejects them (NACKED, with its error).
    const sds = (): SotwClient => {
      const s = new SotwClient(grpcClient.makeBidiStreamRequest(PATHS.StreamSecrets, (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b));
      streams.push(s);
      return s;
    };
    const web = sds();
    web.send({ node: { id: 'web-7f9c', cluster: 'web' }, typeUrl: TYPE_SECRET, resourceNames: ['default', 'ROOTCA'] });
    web.ack(await web.next(), ['default', 'ROOTCA']);
    const inventory = sds();
    inventory.send({ node: { id: 'inventory-2b41', cluster: 'inventory' }, typeUrl: TYPE_SECRET, resourceNames: ['default'] });
    inventory.nack(await inventory.next(), ['default'], 'Failed to load private key: unsupported key type');

    browser = await launchBrowser();
    // A fixed locale and time zone: the Chromium build reads an invalid locale from this host's environment
    // (C.UTF-8 becomes "en-US@posix", which Intl rejects), and a fixed zone keeps screenshots comparable.
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US', timezoneId: 'UTC' });
    // Waits below end on events (an element appears); this only bounds them on a machine shared by many test runs.
    context.setDefaultTimeout(60_000);
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    for (const s of streams) s.end();
    grpcClient?.close();
    await cp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a browser without the operator login gets the sign-in page and no data', async () => {
    const stranger = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC' });
    try {
      const p = await stranger.newPage();
      const r = await p.goto(`http://${cp.adminAddress}/dashboard`);
      assert.equal(r!.status(), 401);
      assert.match(await p.locator('#sign-in').innerText(), /only the operator may open it\. Open the one-time login link/);
      const text = await p.locator('body').innerText();
      assert.doesNotMatch(text, /spiffe:\/\/|web-7f9c|10\.0\.3\.5/);
    } finally {
      await stranger.close();
    }
  });

  test('the operator opens the login link and sees services, modes, shares, the held port, proxies, SVIDs and the bundle', async () => {
    await page.goto(cp.adminLoginUrl()!);
    assert.equal(new URL(page.url()).pathname, '/dashboard', 'the login link lands on the dashboard');
    await page.waitForSelector('body[data-revision]');

    const row = (key: string) => page.locator(`tr[data-port="${key}"]`);
    const cells = async (key: string) => ({
      asked: await row(key).locator('.mode-asked').innerText(),
      inForce: await row(key).locator('.mode-in-force').innerText(),
      share: await row(key).locator('.pct').innerText(),
      readiness: (await row(key).locator('td.readiness').innerText()).split('\n')[0],
    });
    assert.equal(await page.locator('tr[data-port]').count(), 4);
    assert.deepEqual(await cells('web:15006'), { asked: 'PERMISSIVE', inForce: 'PERMISSIVE', share: pct(66, 66 + 144), readiness: 'not ready' });
    assert.deepEqual(await cells('orders:15006'), { asked: 'STRICT', inForce: 'STRICT', share: '100%', readiness: 'ready' });
    assert.deepEqual(await cells('payments:15006'), { asked: 'STRICT', inForce: 'STRICT', share: '100%', readiness: 'ready' });
    assert.deepEqual(await cells('inventory:15006'), { asked: 'STRICT', inForce: 'PERMISSIVE', share: pct(24 + 66 + 66, 24 + 66 + 66 + 48), readiness: 'not ready' });

    // inventory is held by the STRICT gate, which names the batch job's host still sending plaintext.
    assert.match(await row('inventory:15006').locator('td.modes').innerText(), /held below STRICT/);
    assert.match(await row('inventory:15006').locator('td.why').innerText(), new RegExp(`held at PERMISSIVE by the STRICT gate: .*${REPORTS_HOST.replaceAll('.', '\\.')}`));
    assert.equal(await page.locator('[data-card="held"] .v').innerText(), '1');
    assert.match(await row('inventory:15006').locator(`[data-source="${REPORTS_HOST}"]`).innerText(), /48 ×/);
    // Each port with evidence has its chart: a uPlot canvas drawn from the window's buckets.
    for (const key of ['web:15006', 'orders:15006', 'payments:15006', 'inventory:15006']) {
      assert.equal(await row(key).locator('[data-chart] canvas').count(), 1, `chart of ${key}`);
    }
    assert.equal(await page.locator('[data-card="mtls-share"] canvas').count(), 1, 'the overall chart');

    // Proxies: per type, with the NACK's own words.
    assert.match(await page.locator('tr[data-proxy="web-7f9c"]').innerText(), /Secret SYNCED/);
    const nacked = page.locator('tr[data-proxy="inventory-2b41"]');
    assert.equal(await nacked.getAttribute('data-state'), 'NACKED');
    assert.match(await nacked.innerText(), /Secret NACKED\s+Failed to load private key: unsupported key type/);

    // SVIDs soonest first; the bundle's CA with subject, serial and not-after.
    const svidOrder = await page.locator('tr[data-svid]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-svid')));
    const expected = cp.store.svids().sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime() || (a.spiffeId < b.spiffeId ? -1 : 1)).map((s) => s.spiffeId);
    assert.deepEqual(svidOrder, expected);
    assert.deepEqual(svidOrder.slice(0, 2), [ID('batch', 'nightly'), ID('batch', 'hourly')]);
    const svidRow = (id: string) => page.locator(`tr[data-svid="${id}"]`);
    assert.equal(await svidRow(ID('batch', 'nightly')).getAttribute('data-state'), 'expired');
    assert.match(await svidRow(ID('batch', 'nightly')).innerText(), /expired 1m ago/);
    assert.equal(await svidRow(ID('batch', 'hourly')).getAttribute('data-state'), 'expiring');
    assert.match(await svidRow(ID('batch', 'hourly')).innerText(), /in 5m/);
    assert.equal(await svidRow(WEB).getAttribute('data-state'), 'valid');
    const background = (id: string) => svidRow(id).locator('td').first().evaluate((td) => getComputedStyle(td).backgroundColor);
    const plain = await background(WEB);
    assert.notEqual(await background(ID('batch', 'nightly')), plain, 'expired is highlighted');
    assert.notEqual(await background(ID('batch', 'hourly')), plain, 'expiring is highlighted');
    assert.notEqual(await background(ID('batch', 'nightly')), await background(ID('batch', 'hourly')), 'each in its own colour');
    assert.match(await page.locator('[data-card="svids"]').innerText(), /^2\n/);
    const ca = cp.store.getBundle('example.org')!.x509Authorities[0]!;
    const bundleText = await page.locator('[data-trust-domain="example.org"]').innerText();
    assert.ok(bundleText.includes(ca.serialNumber.toUpperCase()), 'the CA serial');
    assert.match(bundleText, /CN=trustplane CA/);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    assert.deepEqual(pageErrors, [], 'no script error and no Content-Security-Policy violation');
  });

  test('a live update arrives without a reload: new traffic shows up on the open page', async () => {
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    const before = Number(await page.locator('body').getAttribute('data-revision'));
    const inventory = page.locator('tr[data-port="inventory:15006"]');
    const shareBefore = await inventory.locator('.pct').innerText();

    // A new plaintext caller of inventory, and a burst of mTLS from web.
    await accessLogs('inventory', [
      ...rep(3, { service: 'inventory', port: 15006, chain: 'plaintext', from: '10.0.3.99' }),
      ...rep(200, { service: 'inventory', port: 15006, chain: 'mtls', from: '10.0.1.2', spiffeId: WEB }),
    ]);
    await inventory.locator('[data-source="10.0.3.99"]').waitFor();
    assert.match(await inventory.locator('[data-source="10.0.3.99"]').innerText(), /3 ×/);
    assert.notEqual(await inventory.locator('.pct').innerText(), shareBefore, 'the share moved');
    assert.equal(await inventory.locator('.pct').innerText(), pct(24 + 66 + 66 + 200, 24 + 66 + 66 + 200 + 48 + 3));
    assert.ok(Number(await page.locator('body').getAttribute('data-revision')) > before);
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'the same page, not a reload');
    assert.match(await page.locator('#live').innerText(), /^live · updated/);
    assert.deepEqual(pageErrors, []);
  });

  test('what proxies send is shown as text: a node id that is HTML stays text', async () => {
    const hostile = '<img src=x onerror="window.pwned=1">';
    const s = new SotwClient(grpcClient.makeBidiStreamRequest(PATHS.StreamSecrets, (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b));
    streams.push(s);
    s.send({ node: { id: hostile, cluster: 'web' }, typeUrl: TYPE_SECRET, resourceNames: ['default'] });
    s.ack(await s.next(), ['default']);
    const row = page.locator('tr[data-proxy]').filter({ hasText: 'onerror' });
    await row.waitFor();
    assert.match(await row.innerText(), /<img src=x onerror="window\.pwned=1">/);
    assert.equal(await page.locator('#proxies img').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
  });

  test('fits a laptop screen: no sideways scrolling at 1280×800', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the window`);
    assert.ok(await page.locator('tr[data-port="inventory:15006"]').isVisible());
  });
});

function pct(part: number, whole: number): string {
  return `${Math.round((100 * part) / whole)}%`;
}
