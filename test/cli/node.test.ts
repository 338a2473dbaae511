// A node's life on the command line, against a running control plane: token, join, renew.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';
import { cli } from './run.js';

let dir: string;
let cp: ControlPlane;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-node-'));
  cp = await ControlPlane.start(
    { dataDir: join(dir, 'data'), meshFile: join(process.cwd(), 'examples', 'mesh.yaml'), unixSocket: '', tcpAddress: '127.0.0.1:0', adminAddress: '', insecure: false, drainMs: 0 },
    { clock: systemClock, logger: silentLogger, watch: false },
  );
});
after(async () => {
  await cp.close();
  rmSync(dir, { recursive: true, force: true });
});

test('token create → node join → node renew; the token works once; the key stays on the node', async () => {
  // Node warns once per process (DEP0123) when a TLS server name is an IP address, as --server usually is.
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }) => warnings.push(w.code ?? w.message);
  process.on('warning', onWarning);
  after(() => process.off('warning', onWarning));
  const data = join(dir, 'data');
  const token = (await cli('token', 'create', '--node', 'payments-1', '--data-dir', data)).stdout.trim();
  const bundle = join(dir, 'bundle.pem');
  writeFileSync(bundle, (await cli('bundle', 'show', '--trust-domain', 'example.org', '--data-dir', data)).stdout);
  const nodeDir = join(dir, 'node');
  const args = ['--server', cp.tcpAddress!, '--trust-domain', 'example.org', '--bundle', bundle, '--token', token, '--dir', nodeDir];
  const joined = await cli('node', 'join', ...args);
  assert.equal(joined.code, 0, joined.stderr);
  assert.match(joined.stdout, /joined as spiffe:\/\/example\.org\/trustplane\/node\/payments-1/);
  assert.equal(statSync(join(nodeDir, 'svid_key.pem')).mode & 0o777, 0o600);
  const first = new X509Certificate(readFileSync(join(nodeDir, 'svid.pem')));
  assert.ok(first.checkPrivateKey((await import('node:crypto')).createPrivateKey(readFileSync(join(nodeDir, 'svid_key.pem')))));
  const verified = await cli('svid', 'verify', '--bundle', `example.org=${join(nodeDir, 'bundle.pem')}`, join(nodeDir, 'svid.pem'));
  assert.equal(verified.code, 0, verified.stderr);

  const again = await cli('node', 'join', ...args.slice(0, -1), join(dir, 'node2'));
  assert.equal(again.code, 1);
  assert.match(again.stderr, /JOIN_TOKEN_USED/);

  const renewed = await cli('node', 'renew', '--server', cp.tcpAddress!, '--trust-domain', 'example.org', '--dir', nodeDir);
  assert.equal(renewed.code, 0, renewed.stderr);
  const second = new X509Certificate(readFileSync(join(nodeDir, 'svid.pem')));
  assert.notEqual(second.serialNumber, first.serialNumber);
  assert.notEqual(second.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'), first.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'), 'a fresh key');
  assert.doesNotMatch(joined.stdout + joined.stderr + renewed.stdout + renewed.stderr, /PRIVATE KEY/);
  assert.equal(again.stderr.split('JOIN_TOKEN_USED').length - 1, 1, `the code is said once: ${again.stderr}`);
  await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  assert.deepEqual(warnings.filter((w) => w === 'DEP0123'), [], 'no TLS server name set to an IP address');
});

test('a server that is not trustplane (wrong trust domain) is refused before the token is sent', async () => {
  const data = join(dir, 'data');
  const token = (await cli('token', 'create', '--node', 'payments-1', '--data-dir', data)).stdout.trim();
  const bundle = join(dir, 'bundle.pem');
  const r = await cli('node', 'join', '--server', cp.tcpAddress!, '--trust-domain', 'example.net', '--bundle', bundle, '--token', token, '--dir', join(dir, 'node3'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /spiffe:\/\/example\.net\/trustplane\/server/);
  const ok = await cli('node', 'join', '--server', cp.tcpAddress!, '--trust-domain', 'example.org', '--bundle', bundle, '--token', token, '--dir', join(dir, 'node3'));
  assert.equal(ok.code, 0, 'the token was not spent by the refused attempt');
});
