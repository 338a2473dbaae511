// Issue 12: `serve --bundle-endpoint` serves this trust domain's SPIFFE bundle over HTTPS in both profiles.
// https_web: a certificate and key from files, re-read when they change (a bad pair keeps the last good one);
// https_spiffe: the server SVID, renewed with the rest. The document is a JWK set of x509-svid keys with
// spiffe_sequence and spiffe_refresh_hint; the sequence goes up with every bundle change and survives a restart;
// `trustplane bundle show --format spiffe` prints exactly the bytes served.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { BundleSet } from '../../src/spiffe/bundle.js';
import { verifyX509Svid } from '../../src/spiffe/x509svid.js';
import { cli } from '../cli/run.js';
import { httpsGet, serverId, startDomain, tempDir, webPki, type Domain } from './fixtures.js';

const TD = 'alpha.test';
const MINUTE = 60_000;

interface Jwk { kty: string; use: string; x5c: string[]; kid?: string; crv?: string; x?: string; y?: string }
interface Doc { keys: Jwk[]; spiffe_sequence: number; spiffe_refresh_hint: number }

describe('bundle endpoint: https_web', () => {
  const root = tempDir('tp-be-web-');
  const closers: (() => unknown)[] = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
    rmSync(root, { recursive: true, force: true });
  });

  test('serves the SPIFFE bundle document; the sequence follows rotations and restarts; bundle show prints the same bytes', async () => {
    const pki = await webPki();
    const first = await pki.issue({ ips: ['127.0.0.1'] });
    const certFile = join(root, 'tls.crt');
    const keyFile = join(root, 'tls.key');
    writeFileSync(certFile, first.certPem);
    writeFileSync(keyFile, first.keyPem, { mode: 0o600 });
    const clock = new ManualClock(Date.now());
    const endpoint = { profile: 'https_web' as const, certFile, keyFile, refreshHintSeconds: 120 };
    let d: Domain = await startDomain({ td: TD, service: 'frontend', dir: join(root, 'alpha'), clock, endpoint });
    closers.push(() => d.cp.close());
    const get = () => httpsGet(d.url, { ca: pki.caPem });
    const show = async () => {
      const r = await cli('bundle', 'show', '--format', 'spiffe', '--trust-domain', TD, '--data-dir', join(d.dir, 'data'));
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };

    const r1 = await get();
    assert.equal(r1.status, 200);
    assert.match(String(r1.headers['content-type']), /^application\/json/);
    assert.equal(r1.peer.fingerprint256, first.cert.fingerprint256);
    const doc = JSON.parse(r1.body) as Doc;
    assert.deepEqual(Object.keys(doc).sort(), ['keys', 'spiffe_refresh_hint', 'spiffe_sequence']);
    assert.equal(doc.spiffe_refresh_hint, 120);
    const authorities = d.cp.store.getBundle(TD)!.x509Authorities;
    const x509Keys = doc.keys.filter((k) => k.use === 'x509-svid');
    assert.equal(x509Keys.length, authorities.length);
    // Whatever else the bundle document holds comes along (jwt-svid keys carry a kid).
    for (const k of doc.keys.filter((k) => k.use !== 'x509-svid')) assert.equal(typeof k.kid, 'string', `${k.use} key has a kid`);
    for (const k of x509Keys) {
      assert.equal(k.kid, undefined, 'x509-svid keys carry no kid');
      assert.equal(k.x5c.length, 1);
      const cert = new X509Certificate(Buffer.from(k.x5c[0]!, 'base64'));
      assert.ok(authorities.some((a) => a.fingerprint256 === cert.fingerprint256));
      assert.deepEqual({ kty: k.kty, crv: k.crv, x: k.x, y: k.y }, cert.publicKey.export({ format: 'jwk' }));
    }
    assert.equal(await show(), r1.body, 'bundle show prints what the endpoint serves');
    const seq1 = doc.spiffe_sequence;

    d.cp.ca.rotateNow();
    const r2 = await get();
    const doc2 = JSON.parse(r2.body) as Doc;
    assert.equal(doc2.spiffe_sequence, seq1 + 1);
    assert.equal(doc2.keys.filter((k) => k.use === 'x509-svid').length, 2);
    assert.equal(await show(), r2.body);
    const state = join(d.dir, 'data', 'bundle-endpoint.json');
    assert.equal(statSync(state).mode & 0o777, 0o600);

    // Restart on the same data directory: same contents, same sequence; the next change goes on from there.
    await d.cp.close();
    closers.pop();
    d = await startDomain({ td: TD, service: 'frontend', dir: join(root, 'alpha'), clock, endpoint });
    closers.push(() => d.cp.close());
    const r3 = await get();
    assert.equal(r3.body, r2.body, 'a restart serves the same document');
    d.cp.ca.rotateNow();
    assert.equal((JSON.parse((await get()).body) as Doc).spiffe_sequence, seq1 + 2);
    assert.equal(d.cp.bundleEndpoint!.publication!.sequence, seq1 + 2);

    // cert-manager renews the certificate: the files change and new connections get the new one.
    const second = await pki.issue({ ips: ['127.0.0.1'] });
    const reloaded = new Promise<void>((resolve) => {
      const off = d.cp.bundleEndpoint!.onFilesReloaded((ok) => {
        if (ok) {
          off();
          resolve();
        }
      });
    });
    writeFileSync(keyFile, second.keyPem, { mode: 0o600 });
    writeFileSync(certFile, second.certPem);
    await reloaded; // the file watch saw the change (no call from the test)
    assert.equal((await get()).peer.fingerprint256, second.cert.fingerprint256, 'the renewed certificate is served');
    // A half-written renewal (certificate of one pair, key of another) is refused: the last good pair keeps serving.
    const third = await pki.issue({ ips: ['127.0.0.1'] });
    writeFileSync(certFile, third.certPem);
    assert.equal(d.cp.bundleEndpoint!.reloadFiles(), false);
    assert.match(d.logText(), /do not load together \(.*\).*the last good one keeps serving/);
    assert.doesNotMatch(d.logText(), /PRIVATE KEY/);
    assert.equal((await get()).peer.fingerprint256, second.cert.fingerprint256);
  });

  test('no client authentication, GET / only, TLS 1.2 at least', async () => {
    const pki = await webPki();
    const { certPem, keyPem } = await pki.issue({ ips: ['127.0.0.1'] });
    writeFileSync(join(root, 'b.crt'), certPem);
    writeFileSync(join(root, 'b.key'), keyPem, { mode: 0o600 });
    const d = await startDomain({ td: TD, service: 'frontend', dir: join(root, 'limits'), clock: new ManualClock(Date.now()), endpoint: { profile: 'https_web', certFile: join(root, 'b.crt'), keyFile: join(root, 'b.key') } });
    closers.push(() => d.cp.close());
    assert.equal((await httpsGet(d.url, { ca: pki.caPem })).status, 200, 'a client without a certificate gets the bundle');
    assert.equal((JSON.parse((await httpsGet(d.url, { ca: pki.caPem })).body) as Doc).spiffe_refresh_hint, 300, 'default hint: 5 minutes');
    assert.equal((await httpsGet(`${d.url}other`, { ca: pki.caPem })).status, 404);
    await assert.rejects(httpsGet(d.url, { ca: pki.caPem, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }));
  });
});

describe('bundle endpoint: https_spiffe', () => {
  const root = tempDir('tp-be-spiffe-');
  const closers: (() => unknown)[] = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
    rmSync(root, { recursive: true, force: true });
  });

  test('presents the server SVID, and its renewal', async () => {
    const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000 - 45 * MINUTE);
    const d = await startDomain({ td: TD, service: 'frontend', dir: join(root, 'alpha'), clock, endpoint: { profile: 'https_spiffe' } });
    closers.push(() => d.cp.close());
    const get = () => httpsGet(d.url, { ca: d.cp.store.getBundle(TD)!.toPem(), checkServerIdentity: () => undefined });
    const r1 = await get();
    assert.equal(r1.status, 200);
    const v = verifyX509Svid([r1.peer], new BundleSet([d.cp.store.getBundle(TD)!]), new Date(clock.now()));
    assert.equal(v.spiffeId.toString(), serverId(TD));
    assert.equal(r1.peer.fingerprint256, d.cp.store.getSvid(serverId(TD))!.chain[0]!.fingerprint256);
    assert.equal(JSON.parse(r1.body).spiffe_sequence, d.cp.bundleEndpoint!.publication!.sequence);

    clock.advance(36 * MINUTE); // past the renewal point (40-60% of the 1 h SVID lifetime)
    const renewed = d.cp.store.getSvid(serverId(TD))!.chain[0]!;
    assert.notEqual(renewed.fingerprint256, r1.peer.fingerprint256);
    assert.equal((await get()).peer.fingerprint256, renewed.fingerprint256);
    assert.deepEqual(JSON.parse(readFileSync(join(d.dir, 'data', 'bundle-endpoint.json'), 'utf8')).sequence, d.cp.bundleEndpoint!.publication!.sequence);
  });
});
