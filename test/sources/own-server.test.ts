// The Workload API identity source against trustplane's own Workload API server: one `serve` (the embedded CA,
// standing in for a SPIRE agent) hands identities over its Workload API socket to a second `serve` that runs
// with --identity-source workload-api:..., whose SDS, status and readiness then work on top of them — through
// rotations, the upstream going away and coming back, and SVIDs expiring while it is away.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { ManualClock } from '../../src/clock.js';
import type { ServeConfig } from '../../src/control-plane/config.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';
import type { WorkloadApiSource } from '../../src/sources/workload-api-source.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { parseWorkloadApiAddress } from '../../src/workload-api/address.js';
import { TYPE_SECRET } from '../../src/xds/type-urls.js';
import { decodeProtectedHeader } from 'jose';
import { PATHS, XdsTestClient } from '../xds/protocol/client.js';
import { decodeJwtBundlesResponse, decodeJwtSvidResponse, decodeValidateJwtSvidResponse, encodeJwtSvidRequest, encodeValidateJwtSvidRequest, PATH, SpecClient } from '../workload-api/spec-wire.js';
import { certPem, secretsOf, validatorTrustDomains } from '../xds/protocol/helpers.js';

const TD = 'example.org';
const PARTNER = 'partner.example.net';
const WEB = `spiffe://${TD}/ns/shop/sa/web`;
const ORDERS = `spiffe://${TD}/ns/shop/sa/orders`;
const BILLING = `spiffe://${TD}/ns/billing/sa/billing`;
const UID = process.getuid?.() ?? 0;

const service = (name: string, id: string): string => `  - name: ${name}\n    spiffeId: ${id}\n    nodes: [uid:${UID}]\n`;

/** Resolves when `check` holds, tested after every change the source reports. */
function when(source: WorkloadApiSource, what: string, check: () => boolean): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((ok, fail) => {
    const guard = setTimeout(() => {
      off();
      fail(new Error(`timed out waiting for ${what}`));
    }, 10_000);
    const off = source.onChange(() => {
      if (!check()) return;
      clearTimeout(guard);
      off();
      ok();
    });
  });
}

describe('identity source: trustplane on top of another trustplane’s Workload API', () => {
  let dir: string;
  const clockA = new ManualClock(Date.now());
  const clockB = new ManualClock(Date.now());
  let a: ControlPlane;
  let b: ControlPlane;
  let partner: CertificateAuthority;
  let source: WorkloadApiSource;
  let configA: ServeConfig;

  const serial = (cp: ControlPlane, id: string): string | undefined => cp.store.getSvid(id)?.serial;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-src-'));
    partner = CertificateAuthority.open({ trustDomain: TrustDomain.parse(PARTNER), dataDir: join(dir, 'partner'), clock: clockA });
    writeFileSync(join(dir, 'partner.pem'), partner.bundle().toPem());
    writeFileSync(join(dir, 'a.yaml'), `trustDomain: ${TD}\nfederation:\n  - trustDomain: ${PARTNER}\n    bundleFile: partner.pem\nservices:\n${service('web', WEB)}${service('orders', ORDERS)}`);
    // The mesh on top declares one identity more than the upstream gives.
    writeFileSync(join(dir, 'b.yaml'), `trustDomain: ${TD}\nservices:\n${service('web', WEB)}${service('orders', ORDERS)}${service('billing', BILLING)}`);
    configA = { dataDir: join(dir, 'a'), meshFile: join(dir, 'a.yaml'), unixSocket: '', tcpAddress: '', adminAddress: '', insecure: false, drainMs: 0, workloadApiSocket: join(dir, 'a', 'workload.sock') };
    a = await ControlPlane.start(configA, { clock: clockA, logger: silentLogger, watch: false });
    b = await ControlPlane.start(
      {
        dataDir: join(dir, 'b'),
        meshFile: join(dir, 'b.yaml'),
        unixSocket: join(dir, 'b', 'xds.sock'),
        tcpAddress: '',
        adminAddress: '127.0.0.1:0',
        insecure: false,
        drainMs: 0,
        identitySource: { kind: 'workload-api', address: parseWorkloadApiAddress(`unix://${a.workloadApiSockets[0]!.path}`) },
        workloadApiSocket: join(dir, 'b', 'workload.sock'),
      },
      { clock: clockB, logger: silentLogger, watch: false },
    );
    source = b.identitySource as WorkloadApiSource;
  });
  after(async () => {
    await b?.close();
    await a?.close();
    partner?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the SVIDs and bundles (own and federated) of the upstream are the store’s, no CA of its own', () => {
    assert.equal(b.identitySource.kind, 'workload-api');
    assert.throws(() => b.ca, { code: 'NO_EMBEDDED_CA' });
    assert.ok(!existsSync(join(dir, 'b', 'ca')), 'no CA keys were made');
    assert.equal(serial(b, WEB), serial(a, WEB));
    assert.equal(serial(b, ORDERS), serial(a, ORDERS));
    assert.equal(b.store.getSvid(WEB)!.privateKeyPem, a.store.getSvid(WEB)!.privateKeyPem);
    assert.deepEqual(b.store.getBundle(TD)!.x509Authorities.map((c) => c.fingerprint256), a.store.getBundle(TD)!.x509Authorities.map((c) => c.fingerprint256));
    assert.deepEqual(b.store.getBundle(PARTNER)!.x509Authorities.map((c) => c.fingerprint256), partner.bundle().x509Authorities.map((c) => c.fingerprint256));
  });

  test('an identity the mesh declares and the upstream does not give is reported in status, readiness and /ready', async () => {
    const st = source.status();
    assert.deepEqual(st['missing'], [BILLING]);
    assert.equal(b.store.getSvid(BILLING), undefined);
    const ready = b.ready();
    assert.equal(ready.ready, true);
    assert.match(ready.reason ?? '', /1 declared identity is not given .*billing/);
    const res = await fetch(`http://${b.adminAddress}/ready`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /billing/);
    const operator = { headers: { authorization: `Bearer ${readFileSync(join(dir, 'b', 'admin-token'), 'utf8').trim()}` } }; // /status is the operator's
    const status = (await (await fetch(`http://${b.adminAddress}/status`, operator)).json()) as { identitySource: { missing: string[]; connected: boolean } };
    assert.deepEqual(status.identitySource.missing, [BILLING]);
    assert.equal(status.identitySource.connected, true);
    const metrics = await (await fetch(`http://${b.adminAddress}/metrics`)).text();
    assert.match(metrics, /^trustplane_identity_source_connected 1$/m);
    assert.match(metrics, /^trustplane_identity_source_missing_identities 1$/m);
    assert.match(metrics, /^trustplane_identity_source_last_update_timestamp_seconds \d+/m);
  });

  test('SDS serves the upstream’s SVID and every trust domain’s bundle; a rotation upstream reaches the SDS stream', async () => {
    const client = new XdsTestClient(`unix:${b.unixSockets[0]}`);
    const stream = client.sotw(PATHS.StreamSecrets);
    stream.send({ node: { id: 'proxy-1', cluster: 'web' }, typeUrl: TYPE_SECRET, resourceNames: [WEB, 'ALL'] });
    const first = await stream.next();
    const secrets = await secretsOf(first);
    const cert = (pem: string): X509Certificate => new X509Certificate(pem);
    assert.equal(cert(certPem(secrets.find((s) => s.name === WEB)!)).serialNumber.toUpperCase(), serial(a, WEB));
    assert.deepEqual(validatorTrustDomains(secrets.find((s) => s.name === 'ALL')!), [TD, PARTNER]);
    stream.ack(first, [WEB, 'ALL']);
    const before = serial(a, WEB);
    // Past the upstream's renewal (40-60% of the lifetime); both sides share the host's time in real life.
    clockA.advance(a.ca.svidTtlMs * 0.61);
    clockB.advanceTo(clockA.now());
    assert.notEqual(serial(a, WEB), before, 'renewed upstream');
    await when(source, 'the renewed SVID', () => serial(b, WEB) === serial(a, WEB));
    let pushed = await stream.next();
    while (!(await secretsOf(pushed)).some((s) => s.name === WEB && cert(certPem(s)).serialNumber.toUpperCase() === serial(a, WEB))) pushed = await stream.next();
    stream.cancel();
    client.close();
  });

  test('JWT-SVIDs on top: FetchJWTSVID is passed to the upstream, whose keys are served and validate its tokens', async () => {
    await when(source, 'the upstream JWT keys', () => (b.store.getBundle(TD)?.jwtAuthorities.length ?? 0) > 0);
    const upstreamKids = a.ca.jwt.authorities().map((k) => k.keyId).sort();
    const c = new SpecClient(b.workloadApiSockets[0]!.path);
    try {
      const [svid] = decodeJwtSvidResponse(await c.unary(PATH.FetchJWTSVID, encodeJwtSvidRequest(['orders-api'], WEB)));
      assert.equal(svid!.spiffeId, WEB);
      assert.ok(upstreamKids.includes(String(decodeProtectedHeader(svid!.svid).kid)), 'signed by the upstream');
      const valid = decodeValidateJwtSvidResponse(await c.unary(PATH.ValidateJWTSVID, encodeValidateJwtSvidRequest('orders-api', svid!.svid)));
      assert.equal(valid.spiffeId, WEB);
      const stream = c.rawStream(PATH.FetchJWTBundles, Buffer.alloc(0));
      const doc = JSON.parse(decodeJwtBundlesResponse(await stream.next())[`spiffe://${TD}`]!.toString('utf8')) as { keys: { kid: string }[] };
      stream.cancel();
      assert.deepEqual(doc.keys.map((k) => k.kid).sort(), upstreamKids);
      // The mesh on top grants billing, the upstream does not give it: the upstream's answer is passed on.
      await assert.rejects(c.unary(PATH.FetchJWTSVID, encodeJwtSvidRequest(['orders-api'], BILLING)), (e: { code: number; details: string }) => {
        assert.equal(e.code, 7); // PERMISSION_DENIED
        assert.match(e.details, /the Workload API at unix:\/\/.*may not hold/);
        return true;
      });
    } finally {
      c.close();
    }
  });

  test('the upstream going away: the last SVIDs keep serving while valid, readiness and status say so; it comes back and is followed again', async () => {
    const held = serial(b, WEB);
    await a.close();
    await when(source, 'the disconnect', () => source.status()['connected'] === false);
    assert.equal(serial(b, WEB), held, 'still served');
    assert.match(await (await fetch(`http://${b.adminAddress}/metrics`)).text(), /^trustplane_identity_source_connected 0$/m);
    const readyPage = await fetch(`http://${b.adminAddress}/ready`);
    assert.equal(readyPage.status, 200);
    assert.match(await readyPage.text(), /^ready \(the Workload API at unix:\/\/.* is unreachable since .*; serving the last SVIDs, the first of which expires at /);
    const ready = b.ready();
    assert.equal(ready.ready, true);
    assert.match(ready.reason ?? '', /unreachable since .*serving the last SVIDs/);
    assert.equal(source.status()['servingLastSvids'], true);
    assert.match(String(source.status()['lastError']), /UNAVAILABLE|CANCELLED/);
    // Back, on the same socket and data directory: new SVIDs, picked up at the next reconnection attempt.
    a = await ControlPlane.start(configA, { clock: clockA, logger: silentLogger, watch: false });
    assert.notEqual(serial(a, WEB), held);
    const reconnected = when(source, 'the reconnection', () => source.status()['connected'] === true && serial(b, WEB) === serial(a, WEB));
    clockB.advanceTo(Date.parse(String(source.status()['nextRetryAt'])));
    await reconnected;
    assert.deepEqual(b.ready().reason, `1 declared identity is not given by the Workload API at unix://${a.workloadApiSockets[0]!.path}: ${BILLING}`);
  });

  test('SVIDs that expire while the upstream is away are no longer served, and readiness turns false', async () => {
    const notAfter = b.store.getSvid(WEB)!.notAfter.getTime();
    await a.close();
    await when(source, 'the disconnect', () => source.status()['connected'] === false);
    clockB.advanceTo(notAfter + 1);
    assert.equal(b.store.getSvid(WEB), undefined);
    assert.equal(b.store.getSvid(ORDERS), undefined);
    const ready = b.ready();
    assert.equal(ready.ready, false);
    assert.match(ready.reason ?? '', /none of the 3 declared identities has a valid SVID/);
    a = await ControlPlane.start(configA, { clock: clockA, logger: silentLogger, watch: false });
  });
});
