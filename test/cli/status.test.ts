// `trustplane status` and `trustplane rollout status` against a running control plane with a proxy connected over
// its Unix socket: the admin endpoint, the JSON and the table, end to end.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';
import { TYPE_SECRET } from '../../src/xds/type-urls.js';
import { PATHS, SotwClient } from '../xds/protocol/client.js';
import { cli } from './run.js';

const uid = process.getuid?.() ?? 0;
let dir: string;
let cp: ControlPlane;
let client: grpc.Client;
let admin: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-status-'));
  const meshFile = join(dir, 'mesh.yaml');
  // The web service's identity goes to whoever runs this test: the socket's owner.
  writeFileSync(meshFile, readFileSync(join(process.cwd(), 'examples', 'mesh.yaml'), 'utf8').replace('nodes: [uid:1001]', `nodes: [uid:${uid}]`));
  cp = await ControlPlane.start(
    { dataDir: join(dir, 'data'), meshFile, unixSocket: join(dir, 'data', 'xds.sock'), tcpAddress: '', adminAddress: '127.0.0.1:0', insecure: false, drainMs: 0 },
    { clock: systemClock, logger: silentLogger, watch: false },
  );
  admin = cp.adminAddress!;
  client = new grpc.Client(`unix:${join(dir, 'data', 'xds.sock')}`, grpc.credentials.createInsecure());
});
after(async () => {
  client.close();
  await cp.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('status commands against a running control plane', () => {
  test('a proxy that ACKed its secrets is SYNCED; --proxy lists them with serial and validity; a stranger is refused its key', async () => {
    const s = new SotwClient(client.makeBidiStreamRequest(PATHS.StreamSecrets, (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b));
    s.send({ node: { id: 'web-1', cluster: 'web' }, typeUrl: TYPE_SECRET, resourceNames: ['default', 'ROOTCA', 'spiffe://example.org/ns/shop/sa/orders'] });
    const r = await s.next();
    assert.equal(r.resources.length, 2, 'default and ROOTCA; the orders identity is not this uid’s');
    s.ack(r, ['default', 'ROOTCA', 'spiffe://example.org/ns/shop/sa/orders']);
    await new Promise<void>((resolve) => { const off = cp.xds.onStatusChange(() => { off(); resolve(); }); });

    const table = await cli('status', '--admin', admin, '--data-dir', join(dir, 'data'));
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+CLUSTER/m);
    assert.match(table.stdout, new RegExp(`^web-1\\s+web\\s+uid:${uid}\\s.*SYNCED`, 'm'));

    const one = await cli('status', '--admin', admin, '--data-dir', join(dir, 'data'), '--proxy', 'web-1');
    assert.equal(one.code, 0, one.stderr);
    const svid = cp.store.getSvid('spiffe://example.org/ns/shop/sa/web')!;
    assert.ok(one.stdout.includes(svid.serial), 'the SVID serial is listed');
    assert.match(one.stdout, /spiffe:\/\/example\.org\/ns\/shop\/sa\/orders.*DENIED/);
    assert.doesNotMatch(one.stdout + table.stdout, /PRIVATE KEY/);

    const missing = await cli('status', '--admin', admin, '--data-dir', join(dir, 'data'), '--proxy', 'nobody');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no connected proxy has node id "nobody"/);
    s.end();
  });

  test('rollout status lists every port with the mode asked for and in force', async () => {
    const r = await cli('rollout', 'status', '--admin', admin, '--data-dir', join(dir, 'data'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /orders\s+15006\s+STRICT\s+STRICT/);
    assert.match(r.stdout, /inventory\s+15006\s+PERMISSIVE\s+PERMISSIVE/);
  });

  test('status says clearly when nothing listens at the admin address', async () => {
    const r = await cli('status', '--admin', '127.0.0.1:1', '--data-dir', join(dir, 'data'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach the control plane at http:\/\/127\.0\.0\.1:1\/status/);
  });
});
