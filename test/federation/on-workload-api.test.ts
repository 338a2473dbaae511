// The bundle endpoint on top of an identity source other than the embedded CA (--identity-source workload-api, as on
// a SPIRE agent): it serves the trust domain's bundle as the source delivers it, with trustplane's own sequence, and
// a CA rotation upstream raises the sequence. Here the upstream is another trustplane's Workload API.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { ManualClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';
import { parseWorkloadApiAddress } from '../../src/workload-api/address.js';
import { httpsGet, UID, webPki } from './fixtures.js';

const TD = 'example.org';
const WEB = `spiffe://${TD}/ns/shop/sa/web`;
const mesh = `trustDomain: ${TD}\nservices:\n  - name: web\n    spiffeId: ${WEB}\n    nodes: [uid:${UID}]\n`;

interface Doc { keys: { use: string; x5c?: string[] }[]; spiffe_sequence: number }
const x509Of = (d: Doc): string[] => d.keys.filter((k) => k.use === 'x509-svid').map((k) => new X509Certificate(Buffer.from(k.x5c![0]!, 'base64')).fingerprint256).sort();

describe('bundle endpoint with a Workload API identity source', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-fed-wapi-'));
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves the upstream\'s bundle; an upstream CA rotation raises the sequence', async () => {
    const clock = new ManualClock(Date.now());
    writeFileSync(join(dir, 'mesh.yaml'), mesh);
    const upstream = await ControlPlane.start(
      { dataDir: join(dir, 'up'), meshFile: join(dir, 'mesh.yaml'), unixSocket: '', tcpAddress: '', adminAddress: '', insecure: false, drainMs: 0, workloadApiSocket: join(dir, 'up', 'workload.sock') },
      { clock, logger: silentLogger, watch: false },
    );
    closers.push(() => upstream.close());
    const pki = await webPki();
    const tls = await pki.issue({ ips: ['127.0.0.1'] });
    writeFileSync(join(dir, 'tls.crt'), tls.certPem);
    writeFileSync(join(dir, 'tls.key'), tls.keyPem, { mode: 0o600 });
    const cp = await ControlPlane.start(
      {
        dataDir: join(dir, 'down'),
        meshFile: join(dir, 'mesh.yaml'),
        unixSocket: '',
        tcpAddress: '',
        adminAddress: '',
        insecure: false,
        drainMs: 0,
        identitySource: { kind: 'workload-api', address: parseWorkloadApiAddress(`unix://${upstream.workloadApiSockets[0]!.path}`) },
        bundleEndpoint: { address: '127.0.0.1:0', profile: 'https_web', certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
      },
      { clock, logger: silentLogger, watch: false },
    );
    closers.push(() => cp.close());
    const url = `https://${cp.bundleEndpoint!.address}/`;
    const upstreamCas = () => upstream.store.getBundle(TD)!.x509Authorities.map((c) => c.fingerprint256).sort();

    const first = JSON.parse((await httpsGet(url, { ca: pki.caPem })).body) as Doc;
    assert.deepEqual(x509Of(first), upstreamCas());

    const changed = new Promise<void>((resolve) => {
      const off = cp.store.subscribe((c) => {
        if (c.bundles.includes(TD) && cp.store.getBundle(TD)!.x509Authorities.length === 2) {
          off();
          resolve();
        }
      });
    });
    upstream.ca.rotateNow();
    await changed; // the rotation reached this control plane over the Workload API stream
    const body = (await httpsGet(url, { ca: pki.caPem })).body;
    const second = JSON.parse(body) as Doc;
    assert.deepEqual(x509Of(second), upstreamCas());
    // One more for the X.509 change (and one more again if the JWT authorities' update came as its own message).
    assert.ok(second.spiffe_sequence > first.spiffe_sequence, `${second.spiffe_sequence} > ${first.spiffe_sequence}`);
  });
});
