// `trustplane serve` as real processes, as the README tells a user to run them: one with --workload-api-socket,
// fetched by the spec client; a second with --identity-source workload-api:unix://<that socket>, which serves the
// same SVIDs on its own Workload API socket and shows its source in /status. Both stop cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cli } from '../cli/run.js';
import { SpecClient, splitDer } from './spec-wire.js';

const UID = process.getuid?.() ?? 0;
const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';
const BIN = join(process.cwd(), 'bin', 'trustplane.js');

const dir = mkdtempSync(join(tmpdir(), 'tp-serve-wapi-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `trustplane serve ARGS` and resolves with its stdout once the start-up banner is complete. */
function serve(args: string[]): Promise<{ child: ChildProcess; banner: string }> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TRUSTPLANE_LOG_LEVEL: 'warn' } });
  children.push(child);
  let out = '';
  let err = '';
  return new Promise((ok, fail) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += String(d);
      if (out.includes('shows every connected proxy')) ok({ child, banner: out });
    });
    child.stderr!.on('data', (d: Buffer) => (err += String(d)));
    child.on('exit', (code) => fail(new Error(`trustplane serve exited with ${code}: ${err}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((ok) => {
    child.on('exit', (code) => ok(code));
    child.kill('SIGTERM');
  });
}

const leafSerial = (der: Buffer): string => new X509Certificate(splitDer(der)[0]!).serialNumber;

test('serve --workload-api-socket, and serve --identity-source workload-api: on top of it', async () => {
  const mesh = `trustDomain: example.org\nservices:\n  - name: web\n    spiffeId: ${WEB}\n    nodes: [uid:${UID}]\n  - name: orders\n    spiffeId: ${ORDERS}\n    nodes: [uid:${UID}]\n`;
  writeFileSync(join(dir, 'mesh.yaml'), mesh);
  const upstream = await serve(['--mesh', join(dir, 'mesh.yaml'), '--data-dir', join(dir, 'a'), '--uds', '', '--tcp', '', '--admin', '', '--workload-api-socket', join(dir, 'a', 'workload.sock')]);
  const socket = /SPIFFE_ENDPOINT_SOCKET=unix:\/\/(\S+)/.exec(upstream.banner)?.[1];
  assert.equal(socket, join(dir, 'a', 'workload.sock'), upstream.banner);
  const a = new SpecClient(socket!);
  const fromA = await a.fetchX509Svid().next();
  assert.deepEqual(fromA.svids.map((s) => s.spiffeId), [WEB, ORDERS]);

  const onTop = await serve(['--mesh', join(dir, 'mesh.yaml'), '--data-dir', join(dir, 'b'), '--uds', join(dir, 'b', 'xds.sock'), '--tcp', '', '--admin', '127.0.0.1:0', '--identity-source', `workload-api:unix://${socket}`, '--workload-api-socket', join(dir, 'b', 'workload.sock')]);
  assert.match(onTop.banner, new RegExp(`identities from: +the Workload API at unix://${socket}`));
  const b = new SpecClient(join(dir, 'b', 'workload.sock'));
  const fromB = await b.fetchX509Svid().next();
  assert.deepEqual(fromB.svids.map((s) => leafSerial(s.x509Svid)), fromA.svids.map((s) => leafSerial(s.x509Svid)), 'the same SVIDs, passed through');
  const admin = /http:\/\/(\S+)\/live/.exec(onTop.banner)![1]!;
  const operator = { headers: { authorization: `Bearer ${readFileSync(join(dir, 'b', 'admin-token'), 'utf8').trim()}` } }; // /status is the operator's
  const status = (await (await fetch(`http://${admin}/status`, operator)).json()) as { identitySource: { kind: string; connected: boolean; missing: string[] } };
  assert.equal(status.identitySource.kind, 'workload-api');
  assert.equal(status.identitySource.connected, true);
  assert.deepEqual(status.identitySource.missing, []);
  assert.equal((await fetch(`http://${admin}/ready`)).status, 200);
  const text = await cli('status', '--admin', admin, '--data-dir', join(dir, 'b'));
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^Identity source: Workload API at unix://${socket}, connected\n`));
  a.close();
  b.close();
  assert.equal(await stop(onTop.child), 0);
  assert.equal(await stop(upstream.child), 0);
});

test('serve: a bad --identity-source or an embedded-CA flag beside a Workload API source is refused, one clear line', async () => {
  const bad = await cli('serve', '--identity-source', 'spire', '--admin', '', '--tcp', '', '--uds', '');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^trustplane serve: --identity-source "spire": expected embedded-ca or workload-api:unix:\/\/\/path\/to\/agent\.sock \[IDENTITY_SOURCE_INVALID\]\n$/);
  const path = await cli('serve', '--identity-source', 'workload-api:unix://agent.sock', '--admin', '', '--tcp', '', '--uds', '');
  assert.equal(path.code, 1);
  assert.match(path.stderr, /no authority and an absolute path.*\[WORKLOAD_API_ADDRESS_INVALID\]/);
  const caFlag = await cli('serve', '--identity-source', 'workload-api:unix:///run/spire/sockets/agent.sock', '--svid-ttl', '1h', '--ca-key-type', 'ec-p384');
  assert.equal(caFlag.code, 2);
  assert.match(caFlag.stderr, /--ca-key-type, --svid-ttl: for the embedded CA/);
});
