// Who sees what on the admin address, over real HTTP against a running control plane: health and metrics for
// anyone, proxy identities only for the operator (the token file, or a browser session from a one-time link).
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ManualClock, systemClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';
import { TYPE_SECRET } from '../../src/xds/type-urls.js';
import { PATHS, SotwClient } from '../xds/protocol/client.js';
import { cli } from '../cli/run.js';

const uid = process.getuid?.() ?? 0;
let dir: string;
let cp: ControlPlane;
let base: string;
let token: string;
let client: grpc.Client;
let stream: SotwClient;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-admin-'));
  const meshFile = join(dir, 'mesh.yaml');
  writeFileSync(meshFile, readFileSync(join(process.cwd(), 'examples', 'mesh.yaml'), 'utf8').replace('nodes: [uid:1001]', `nodes: [uid:${uid}]`));
  cp = await ControlPlane.start(
    { dataDir: join(dir, 'data'), meshFile, unixSocket: join(dir, 'data', 'xds.sock'), tcpAddress: '', adminAddress: '127.0.0.1:0', insecure: false, drainMs: 0 },
    { clock: systemClock, logger: silentLogger, watch: false },
  );
  base = `http://${cp.adminAddress}`;
  token = readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim();
  // A proxy with an identity, so that /status has something to hide.
  client = new grpc.Client(`unix:${join(dir, 'data', 'xds.sock')}`, grpc.credentials.createInsecure());
  stream = new SotwClient(client.makeBidiStreamRequest(PATHS.StreamSecrets, (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b));
  stream.send({ node: { id: 'web-secret-node', cluster: 'web' }, typeUrl: TYPE_SECRET, resourceNames: ['default'] });
  await stream.next();
});
after(async () => {
  stream.end();
  client.close();
  await cp.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers, redirect: 'manual' });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('the admin address', () => {
  test('the operator token is written 0600 into the data directory', () => {
    assert.equal(statSync(join(dir, 'data', 'admin-token')).mode & 0o777, 0o600);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  });

  test('anyone: /live, /ready and /metrics, with no node id in them', async () => {
    for (const path of ['/live', '/ready', '/metrics']) {
      const r = await get(path);
      assert.equal(r.status, 200, path);
      assert.doesNotMatch(await r.text(), /web-secret-node/, path);
    }
  });

  test('anyone else: every identity-bearing page is 401 with one line saying how to get in', async () => {
    for (const path of ['/status', '/status/proxies/web-secret-node', '/rollout', '/mesh', '/login/link']) {
      const r = await get(path);
      assert.equal(r.status, 401, path);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="trustplane"');
      const text = await r.text();
      assert.doesNotMatch(text, /web-secret-node|spiffe:\/\//, path);
      assert.equal(text.trimEnd().split('\n').length, 1);
      assert.match(text, /admin-token/);
    }
  });

  test('a wrong token or session cookie: 403', async () => {
    assert.equal((await get('/status', bearer('x'.repeat(43)))).status, 403);
    assert.equal((await get('/status', bearer(`${token}x`))).status, 403);
    assert.equal((await get('/status', { cookie: 'trustplane_admin=forged' })).status, 403);
  });

  test('the operator (bearer token) sees the proxy; an unknown proxy is "no such proxy"', async () => {
    const r = await get('/status', bearer(token));
    assert.equal(r.status, 200);
    assert.match(await r.text(), /web-secret-node/);
    const missing = await get('/status/proxies/nobody-here', bearer(token));
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), 'no such proxy: no connected proxy has node id "nobody-here"\n');
  });

  test('trustplane status reads the token from the data directory', async () => {
    const r = await cli('status', '--admin', cp.adminAddress!, '--data-dir', join(dir, 'data'), '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /web-secret-node/);
    const unknown = await cli('status', '--admin', cp.adminAddress!, '--data-dir', join(dir, 'data'), '--proxy', 'nobody-here');
    assert.equal(unknown.stderr, 'trustplane status: no connected proxy has node id "nobody-here" [PROXY_NOT_FOUND]\n');
  });

  test('a browser: a one-time link sets an HttpOnly SameSite=Strict cookie; the link works once', async () => {
    const link = await cli('admin', 'link', '--admin', cp.adminAddress!, '--data-dir', join(dir, 'data'));
    assert.equal(link.code, 0, link.stderr);
    const url = new URL(link.stdout.trim());
    const first = await get(`${url.pathname}${url.search}`);
    assert.equal(first.status, 303);
    const cookie = first.headers.get('set-cookie')!;
    assert.match(cookie, /^trustplane_admin=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\//);
    const session = cookie.split(';')[0]!;
    const page = await get('/status', { cookie: session });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /web-secret-node/);
    const again = await get(`${url.pathname}${url.search}`);
    assert.equal(again.status, 403);
    assert.equal(again.headers.get('set-cookie'), null);
    assert.equal((await get('/login?code=guessed')).status, 403);
  });

  test('the serve printout carries a login link that works', () => {
    assert.match(cp.adminLoginUrl()!, new RegExp(`^${base}/login\\?code=[A-Za-z0-9_-]{32}$`));
  });
});

describe('the admin address beyond loopback', () => {
  test('refused without --admin-remote, before anything is created', async () => {
    const d = mkdtempSync(join(tmpdir(), 'tp-admin-remote-'));
    try {
      await assert.rejects(
        ControlPlane.start(
          { dataDir: join(d, 'data'), meshFile: join(process.cwd(), 'examples', 'mesh.yaml'), unixSocket: '', tcpAddress: '', adminAddress: '0.0.0.0:0', insecure: false, drainMs: 0 },
          { clock: new ManualClock(Date.now()), logger: silentLogger, watch: false },
        ),
        (e: Error & { code?: string }) => e.code === 'ADMIN_NOT_LOOPBACK' && /--admin-remote/.test(e.message),
      );
      assert.throws(() => statSync(join(d, 'data')));
      const r = await cli('serve', '--data-dir', join(d, 'data'), '--admin', '0.0.0.0:0', '--tcp', '', '--uds', '');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^trustplane serve: --admin 0\.0\.0\.0:0 is reachable from other hosts.*\[ADMIN_NOT_LOOPBACK\]\n$/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('accepted with --admin-remote, and identities still need the token', async () => {
    const d = mkdtempSync(join(tmpdir(), 'tp-admin-remote-'));
    const remote = await ControlPlane.start(
      { dataDir: join(d, 'data'), meshFile: join(process.cwd(), 'examples', 'mesh.yaml'), unixSocket: '', tcpAddress: '', adminAddress: '0.0.0.0:0', adminRemote: true, insecure: false, drainMs: 0 },
      { clock: new ManualClock(Date.now()), logger: silentLogger, watch: false },
    );
    try {
      const port = remote.adminAddress!.split(':').pop();
      assert.equal((await fetch(`http://127.0.0.1:${port}/status`)).status, 401);
      assert.equal((await fetch(`http://127.0.0.1:${port}/live`)).status, 200);
    } finally {
      await remote.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});
