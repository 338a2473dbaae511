// Issue 12, as an operator runs it: two `trustplane serve` processes (bin/trustplane.js, separate Node processes)
// of different trust domains, each with --bundle-endpoint. `trustplane bundle show --format spiffe` prints the bytes
// the endpoint serves; one side's description gains a bundleEndpoint (picked up by the file watch), it fetches the
// other's bundle over https_spiffe, /federation says so, and a real SDS stream to it receives that bundle in ALL.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { X509Bundle } from '../../src/spiffe/bundle.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import type { FederationDocument } from '../../src/federation/status.js';
import { SdsAgent } from '../e2e/sds-agent.js';
import { cli } from '../cli/run.js';
import { httpsGet, meshYaml, serverId, serviceId, tempDir } from './fixtures.js';

const BIN = resolve('bin', 'trustplane.js');
// A guard against a hang, not a measure: two servers starting at once on a loaded 2-core machine take a while.
const GUARD_MS = 60_000;

interface Served {
  readonly child: ChildProcess;
  /** Resolves with the first log line (stderr, pino JSON) matching `re`, already written or to come. */
  logLine(re: RegExp): Promise<string>;
  readonly endpoint: string;
  readonly admin: string;
  readonly dataDir: string;
  readonly meshFile: string;
}

/** Starts `trustplane serve`; its process goes into `spawned` at once, so that it is stopped even if it never starts. */
async function serve(dir: string, td: string, service: string, spawned: ChildProcess[]): Promise<Served> {
  const meshFile = join(dir, 'mesh.yaml');
  const dataDir = join(dir, 'data');
  mkdirSync(dir, { recursive: true });
  writeFileSync(meshFile, meshYaml(td, service, []));
  const child = spawn(process.execPath, [BIN, 'serve', '--mesh', meshFile, '--data-dir', dataDir, '--tcp', '', '--admin', '127.0.0.1:0', '--bundle-endpoint', '127.0.0.1:0', '--bundle-refresh-hint', '30s'], { stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.push(child);
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      const line = err.split('\n').find((l) => w.re.test(l));
      if (line) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    check();
  });
  const logLine = (re: RegExp): Promise<string> =>
    new Promise((resolveLine, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve ${td}: no log line ${re} within ${GUARD_MS} ms`)), GUARD_MS);
      waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolveLine(l)) });
      check();
    });
  const started = await new Promise<{ endpoint: string; admin: string }>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve ${td} did not start within ${GUARD_MS} ms: ${err.slice(-500)}`)), GUARD_MS);
    child.on('exit', (code) => reject(new Error(`serve ${td} exited with ${code}: ${err.slice(-500)}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const endpoint = /SPIFFE bundle endpoint: +(https:\/\/\S+)/.exec(out)?.[1];
      const admin = /health and metrics: +http:\/\/([^/\s]+)\//.exec(out)?.[1];
      if (endpoint && admin) {
        clearTimeout(timer);
        resolvePromise({ endpoint, admin });
      }
    });
  });
  return { child, logLine, ...started, dataDir, meshFile };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

describe('federation between two `trustplane serve` processes', () => {
  const root = tempDir('tp-fed-proc-');
  // Every spawned server, started or not: one that came up while the other did not must not outlive the test.
  const spawned: ChildProcess[] = [];
  const closers: (() => unknown)[] = [];
  after(async () => {
    for (const c of closers) await c();
    for (const child of spawned) await stop(child);
    rmSync(root, { recursive: true, force: true });
  });

  test('bundle show = what the endpoint serves; a bundleEndpoint added to the description is fetched and pushed over SDS', async () => {
    const [a, b] = await Promise.all([serve(join(root, 'alpha'), 'alpha.test', 'frontend', spawned), serve(join(root, 'beta'), 'beta.test', 'backend', spawned)]);

    // The operator hands beta alpha's bundle out of band; it is exactly what alpha's endpoint serves.
    const shown = await cli('bundle', 'show', '--format', 'spiffe', '--trust-domain', 'alpha.test', '--data-dir', a.dataDir);
    assert.equal(shown.code, 0, shown.stderr);
    const alphaBundle = X509Bundle.fromSpiffeJson(TrustDomain.parse('alpha.test'), shown.stdout);
    const got = await httpsGet(a.endpoint, { ca: alphaBundle.toPem(), checkServerIdentity: () => undefined });
    assert.equal(got.body, shown.stdout);
    assert.equal(JSON.parse(got.body).spiffe_refresh_hint, 30);
    writeFileSync(join(root, 'beta', 'alpha.bundle.json'), shown.stdout);

    // Beta's proxy is connected before the description changes: the federated bundle arrives as a push.
    const agent = new SdsAgent(`unix:${join(b.dataDir, 'xds.sock')}`, grpc.credentials.createInsecure(), {
      nodeId: 'backend-proxy',
      certificate: serviceId('beta.test', 'backend'),
      validation: 'ALL',
      trustDomain: 'beta.test',
    });
    closers.push(() => agent.close());
    await agent.waitFor('beta\'s own SVID and bundle', (m) => !!m);

    writeFileSync(b.meshFile, meshYaml('beta.test', 'backend', [{ trustDomain: 'alpha.test', bundleFile: 'alpha.bundle.json', bundleEndpoint: { url: a.endpoint, profile: 'https_spiffe', endpointSpiffeId: serverId('alpha.test') } }]));
    await agent.waitFor('alpha\'s bundle in ALL', (m) => !!m?.bundles.find((x) => x.trustDomain.name === 'alpha.test')?.hasAuthority(alphaBundle.x509Authorities[0]!));

    // /federation shows the relationship once the first fetch is logged (the bundle above may be the bootstrap).
    const fetched = JSON.parse(await b.logLine(/"msg":"federated bundle fetched"/)) as { trustDomain: string; url: string };
    assert.deepEqual([fetched.trustDomain, fetched.url], ['alpha.test', a.endpoint]);
    const doc = (await (await fetch(`http://${b.admin}/federation`, { headers: { authorization: `Bearer ${readFileSync(join(b.dataDir, 'admin-token'), 'utf8').trim()}` } })).json()) as FederationDocument;
    const alpha = doc.domains[0]!;
    assert.equal(alpha.endpoint?.heldFrom, 'endpoint');
    assert.equal(alpha.trustDomain, 'alpha.test');
    assert.equal(alpha.sequence, JSON.parse(got.body).spiffe_sequence);
    assert.equal(alpha.endpoint?.lastError, undefined);
    assert.equal(alpha.endpoint?.refreshIntervalSeconds, 30);
    assert.equal(doc.bundleEndpoint?.profile, 'https_spiffe');
    const metrics = await (await fetch(`http://${b.admin}/metrics`)).text();
    assert.match(metrics, /trustplane_federation_last_refresh_timestamp_seconds\{trust_domain="alpha.test"\} \d/);
  });
});
