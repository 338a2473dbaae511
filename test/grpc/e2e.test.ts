// End to end with a real xDS data plane: @grpc/grpc-js-xds as client and as xDS-enabled server, in child
// processes (grpc-js-xds reads its bootstrap once per process), bootstrapped by the gRPC bootstrap trustplane
// builds, configured only by what a running control plane serves over ADS on its Unix socket (authorization on:
// the socket's principal is this process's uid, which the mesh names), with certificates from the files the
// spiffe-helper role (svid-files) writes from the control plane's identity store, as `serve` with svidFiles does.
//
// Waiting: on call results, on the control plane's proxy status (the client's ACK of a pushed cluster) and on file
// writes. The one timer outside the test's control is grpc-js's file_watcher, which re-reads the SVID files every
// refresh_interval (1 s here): after a rotation, new connections use the new files within about that long, so
// that step retries calls on fresh channels, a bounded number of times.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { systemClock, type Clock, type TimerHandle } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { buildGrpcBootstrap } from '../../src/envoy/grpc/bootstrap.js';
import { silentLogger } from '../../src/observe/log.js';
import { svidFilePaths } from '../../src/svid-files/layout.js';
import { SvidFileWriter, type SvidFilesWrite } from '../../src/svid-files/writer.js';
import { CLUSTER_TYPE_URL } from '../../src/envoy/type-urls.js';
import type { CallRequest, CallResult, ChildReport } from './fixtures/greeter.js';

const SVID_TTL_MS = 10 * 60_000;
const CLIENT = 'spiffe://example.org/ns/shop/sa/client';
const INTRUDER = 'spiffe://example.org/ns/shop/sa/intruder';
const GREETER = 'spiffe://example.org/ns/shop/sa/greeter';
const PERMISSION_DENIED = 7;
const UNAVAILABLE = 14;

/**
 * Real time, real timers, but the test may run the SVID renewal timers early: a forced renewal without waiting half
 * an SVID lifetime, and without moving the clock (peers check certificates against the real time).
 */
class SteerableClock implements Clock {
  readonly #timers = new Set<{ ms: number; fn: () => void; handle?: TimerHandle }>();
  now(): number {
    return Date.now();
  }
  setTimer(ms: number, fn: () => void): TimerHandle {
    const t: { ms: number; fn: () => void; handle?: TimerHandle } = { ms, fn };
    t.handle = systemClock.setTimer(ms, () => {
      this.#timers.delete(t);
      fn();
    });
    this.#timers.add(t);
    return { cancel: () => (t.handle!.cancel(), this.#timers.delete(t)) };
  }
  /** Runs now every pending timer set for about half an SVID lifetime (the SvidManager's renewals). */
  renewNow(): number {
    const due = [...this.#timers].filter((t) => t.ms >= 0.35 * SVID_TTL_MS && t.ms <= 0.65 * SVID_TTL_MS);
    for (const t of due) {
      t.handle!.cancel();
      this.#timers.delete(t);
      t.fn();
    }
    return due.length;
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Re-checks `probe` until it yields a value, at most `attempts` times, `intervalMs` apart. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, attempts = 100, intervalMs = 50): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`gave up waiting: ${what}`);
}

function meshText(port: number, uid: number, clientExpects: string): string {
  return `
trustDomain: example.org
services:
  - name: greeter-client
    spiffeId: ${CLIENT}
    target: grpc
    nodes: [uid:${uid}]
    outbound:
      - { name: greeter, address: 127.0.0.1, port: ${port}, protocol: grpc, spiffeIds: [${clientExpects}] }
  - name: intruder
    spiffeId: ${INTRUDER}
    target: grpc
    nodes: [uid:${uid}]
    outbound:
      - { service: greeter }
  - name: greeter
    spiffeId: ${GREETER}
    target: grpc
    address: 127.0.0.1
    nodes: [uid:${uid}]
    mode: STRICT
    inbound:
      - { port: ${port}, appPort: 1, protocol: grpc }
    allowedCallers:
      - service: greeter-client
`;
}

class Child {
  readonly #proc: ChildProcess;
  readonly #waiting = new Map<number, (r: CallResult) => void>();
  #next = 0;
  readonly ready: Promise<ChildReport>;

  constructor(script: string, args: string[], bootstrap: unknown) {
    const env: NodeJS.ProcessEnv = { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap), GRPC_XDS_EXPERIMENTAL_RBAC: 'true' };
    delete env['GRPC_XDS_BOOTSTRAP'];
    this.#proc = fork(fileURLToPath(new URL(`./fixtures/${script}`, import.meta.url)), args, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolve, reject) => {
      this.#proc.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it was ready`)));
      this.#proc.on('message', (m: ChildReport) => {
        if (m.type === 'result') this.#waiting.get(m.id)?.(m);
        else if (m.type === 'error') reject(new Error(`${script}: ${m.message}`));
        else resolve(m);
      });
    });
  }

  call(opts: Omit<CallRequest, 'id' | 'deadlineMs'> & { deadlineMs?: number } = {}): Promise<CallResult> {
    const id = this.#next++;
    const req: CallRequest = { id, deadlineMs: 10_000, ...opts };
    return new Promise((resolve) => {
      this.#waiting.set(id, (r) => (this.#waiting.delete(id), resolve(r)));
      this.#proc.send(req);
    });
  }

  async stop(): Promise<void> {
    if (this.#proc.exitCode !== null || this.#proc.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#proc.once('exit', resolve));
    this.#proc.kill('SIGTERM');
    await exited;
  }
}

const serialOf = (file: string) => new X509Certificate(readFileSync(file)).serialNumber;

describe('proxyless gRPC end to end (grpc-js-xds client and server, trustplane control plane and SVID files)', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-grpc-'));
  const meshFile = join(dir, 'mesh.yaml');
  const svidDir = join(dir, 'svids');
  const uid = process.getuid!();
  const clock = new SteerableClock();
  const writes: SvidFilesWrite[] = [];
  let port = 0;
  let cp: ControlPlane;
  let files: SvidFileWriter;
  let server: Child, client: Child, intruder: Child;

  const bootstrapFor = (service: string) =>
    buildGrpcBootstrap(cp.mesh, cp.mesh.serviceByName(service)!, { xds: { kind: 'unix', path: cp.unixSockets[0]! }, svidDir, refreshIntervalMs: 1000, locality: { zone: 'test' } });

  before(async () => {
    port = await freePort();
    writeFileSync(meshFile, meshText(port, uid, GREETER));
    cp = await ControlPlane.start(
      { dataDir: join(dir, 'data'), meshFile, unixSocket: join(dir, 'xds.sock'), tcpAddress: '', adminAddress: '', insecure: false, svidTtlMs: SVID_TTL_MS },
      { clock, logger: silentLogger, watch: false },
    );
    files = new SvidFileWriter({ store: cp.store, config: { dir: svidDir, selects: (id) => cp.mesh.serviceBySpiffeId(id)?.target === 'grpc' }, onWrite: (w) => writes.push(w) }).start();
    // The description names no listenAddress: the server listens on loopback only, and is served only there.
    server = new Child('greeter-server.js', [`127.0.0.1:${port}`], bootstrapFor('greeter'));
    client = new Child('greeter-client.js', ['greeter'], bootstrapFor('greeter-client'));
    intruder = new Child('greeter-client.js', ['greeter'], bootstrapFor('intruder'));
    // The server reports only once it serves: it received its listener and its certificates loaded.
    await Promise.all([server.ready, client.ready, intruder.ready]);
  });

  after(async () => {
    await Promise.all([server?.stop(), client?.stop(), intruder?.stop()]);
    files?.close();
    await cp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the files are written for exactly the grpc services, the key 0600', () => {
    assert.deepEqual([...new Set(writes.map((w) => w.spiffeId))].sort(), [GREETER, CLIENT, INTRUDER].sort());
    const client = svidFilePaths(svidDir, CLIENT);
    assert.equal(new X509Certificate(readFileSync(client.certificateFile)).subjectAltName, `URI:${CLIENT}`);
    assert.equal(statSync(client.privateKeyFile).mode & 0o777, 0o600);
  });

  test('(a) the call succeeds over mTLS; the server sees the client SPIFFE ID of the certificate in the files', async () => {
    const r = await client.call({ waitForReady: true });
    assert.equal(r.ok, true, `call failed: ${r.code} ${r.details}`);
    assert.equal(r.reply!.peerSan, `URI:${CLIENT}`);
    assert.equal(r.reply!.peerSerial, serialOf(svidFilePaths(svidDir, CLIENT).certificateFile));
  });

  test('(c) a caller not in the allow list completes the handshake and is denied by RBAC', async () => {
    const r = await intruder.call({ waitForReady: true });
    assert.equal(r.ok, false);
    assert.equal(r.code, PERMISSION_DENIED, `${r.code} ${r.details}`);
  });

  test('(d) after a forced CA rotation and renewal the files change and new calls still succeed, with the new SVID', async () => {
    const paths = svidFilePaths(svidDir, CLIENT);
    const before = serialOf(paths.certificateFile);
    const seen = writes.length;
    cp.ca.rotateNow();
    assert.ok(clock.renewNow() >= 3, 'the SvidManager had renewals pending');
    const active = cp.ca.status().find((a) => a.state === 'active')!.certificate;
    const rewritten = writes.slice(seen).filter((w) => w.files.includes('certificate')).map((w) => w.spiffeId);
    assert.deepEqual(new Set(rewritten), new Set([GREETER, CLIENT, INTRUDER]));
    const leaf = new X509Certificate(readFileSync(paths.certificateFile));
    assert.notEqual(leaf.serialNumber, before);
    assert.ok(leaf.checkIssued(active), 'the new SVID is signed by the new CA');
    assert.ok(readFileSync(paths.bundleFile, 'utf8').includes(active.toString().trim()), 'the bundle file carries the new CA');
    // gRPC re-reads the files every refresh_interval: a new connection presents the new SVID within about that.
    const reply = await eventually('a new connection with the rotated client SVID', async () => {
      const r = await client.call({ newChannel: true, waitForReady: true });
      return r.ok && r.reply!.peerSerial === leaf.serialNumber ? r.reply : undefined;
    }, 40, 250);
    assert.equal(reply.peerSan, `URI:${CLIENT}`);
    assert.equal((await client.call({ waitForReady: true })).ok, true);
  });

  test('(b) when the description changes the server ID the client expects, calls fail', async () => {
    writeFileSync(meshFile, meshText(port, uid, 'spiffe://example.org/ns/shop/sa/impostor'));
    assert.deepEqual(cp.reload(), { ok: true, problems: [] });
    const version = cp.resources.get('greeter-client', CLUSTER_TYPE_URL, 'outbound_greeter')!.version;
    // Wait on the proxy status itself: it changes when the client ACKs.
    await new Promise<void>((resolve) => {
      const acked = (): boolean => {
        const proxy = cp.xds.status().proxies.find((p) => p.cluster === 'greeter-client' && p.service === 'ads');
        const cluster = proxy?.types.find((t) => t.typeUrl === CLUSTER_TYPE_URL)?.resources.find((r) => r.name === 'outbound_greeter');
        return cluster?.state === 'ACKED' && cluster.version === version;
      };
      if (acked()) return resolve();
      const off = cp.xds.onStatusChange(() => {
        if (acked()) {
          off();
          resolve();
        }
      });
    });
    // The ACKed cluster carries the new matcher: the next connection's handshake fails the SAN check.
    const failed = await client.call({ newChannel: true, deadlineMs: 5000 });
    assert.equal(failed.ok, false, 'the ACKed matcher applies to the very next connection');
    assert.equal(failed.code, UNAVAILABLE, `${failed.code} ${failed.details}`);
    assert.match(failed.details ?? '', /subject alternative name/, 'refused by the client\'s server-identity check');
    // The server is unchanged: the intruder, whose description still expects the real greeter ID, completes the
    // handshake and is refused by RBAC as before.
    assert.equal((await intruder.call({ waitForReady: true })).code, PERMISSION_DENIED);
  });
});
