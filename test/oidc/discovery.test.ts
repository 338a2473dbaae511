// An independent verifier: a relying party that knows only the issuer URL fetches the running OIDC discovery
// document and JWKS over HTTPS and verifies JWT-SVIDs with jose's remote JWK set (not trustplane's own validation),
// before and after a key rotation on a ManualClock, including a token of the previous key while it is valid.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, customFetch, errors, jwtVerify } from 'jose';
import { ManualClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { fetchVia, httpsGet, ISSUER_HOST, makeServerCert } from './fixtures.js';

const H = 3600_000;
const ISSUER = `https://${ISSUER_HOST}`;
const AUD = 'sts.amazonaws.com';
const web = SpiffeId.parse('spiffe://example.org/ns/shop/sa/web');

describe('OIDC discovery, verified by an independent relying party (jose remote JWK set)', () => {
  let dir: string;
  let cp: ControlPlane;
  let tls: { certFile: string; keyFile: string };
  const clock = new ManualClock(Date.UTC(2026, 2, 1));
  const ca = (): string => readFileSync(tls.certFile, 'utf8');
  const connectTo = (): string => cp.oidcDiscovery!.address;
  const get = (path: string, headers: Record<string, string> = {}) => httpsGet(new URL(`${ISSUER}${path}`), connectTo(), ca(), headers);
  const kids = async (): Promise<string[]> => ((JSON.parse((await get('/keys')).body) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid)).sort();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-oidc-'));
    tls = makeServerCert(dir);
    const meshFile = join(dir, 'mesh.yaml');
    copyFileSync(join(process.cwd(), 'examples', 'mesh.yaml'), meshFile);
    cp = await ControlPlane.start(
      {
        dataDir: join(dir, 'data'), meshFile, unixSocket: '', tcpAddress: '', adminAddress: '', insecure: false, drainMs: 0,
        caTtlMs: 6 * H, svidTtlMs: H,
        oidc: { issuer: ISSUER, address: '127.0.0.1:0', tls },
      },
      { clock, logger: silentLogger, watch: false },
    );
  });
  after(async () => {
    await cp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('discovery document and JWKS over HTTPS; tokens verify before, across and after a rotation', async () => {
    const disc = await get('/.well-known/openid-configuration');
    assert.equal(disc.status, 200);
    const doc = JSON.parse(disc.body) as { issuer: string; jwks_uri: string; id_token_signing_alg_values_supported: string[] };
    assert.equal(doc.issuer, ISSUER);
    assert.equal(doc.jwks_uri, `${ISSUER}/keys`);
    assert.ok(doc.id_token_signing_alg_values_supported.includes('ES256'));

    const fetched: string[] = [];
    const rp = () => createRemoteJWKSet(new URL(doc.jwks_uri), { [customFetch]: fetchVia(connectTo, ca, fetched), cooldownDuration: 0 });
    const jwks = rp();
    const verify = (token: string, set = jwks) => jwtVerify(token, set, { issuer: doc.issuer, audience: AUD, currentDate: new Date(clock.now()), algorithms: ['ES256'] });

    const first = await cp.ca.jwt.mint(web, [AUD]);
    const v1 = await verify(first.token);
    assert.equal(v1.payload.sub, web.toString());
    assert.equal(v1.payload.iss, ISSUER);
    assert.deepEqual(await kids(), [first.keyId]);

    // Half-way through the key's life the next key is published (prepared): relying parties see it before it signs.
    clock.advance(3 * H + 60_000);
    const published = await kids();
    assert.equal(published.length, 2);
    const next = published.find((k) => k !== first.keyId)!;
    assert.equal((await cp.ca.jwt.mint(web, [AUD])).keyId, first.keyId, 'a prepared key does not sign');

    // Just before activation the old key signs one more token; just after, the new key signs.
    const activation = cp.ca.jwt.status().find((k) => k.state === 'active')!;
    clock.advanceTo(activation.notBefore.getTime() + 5 * H - 60_000);
    const lastOfOld = await cp.ca.jwt.mint(web, [AUD]);
    assert.equal(lastOfOld.keyId, first.keyId);
    clock.advance(2 * 60_000);
    assert.equal(cp.ca.jwt.status().find((k) => k.state === 'active')!.keyId, next);
    const firstOfNew = await cp.ca.jwt.mint(web, [AUD]);
    assert.equal(firstOfNew.keyId, next);

    assert.equal((await verify(firstOfNew.token)).protectedHeader.kid, next);
    assert.equal((await verify(lastOfOld.token)).protectedHeader.kid, first.keyId, 'a token of the previous key verifies while it is valid');
    assert.deepEqual(await kids(), [first.keyId, next].sort());

    // Once the old key's last token has expired, it leaves the JWKS: a fresh relying party no longer has it.
    clock.advanceTo(lastOfOld.expiresAt.getTime() + 1000);
    assert.deepEqual(await kids(), [next]);
    await assert.rejects(
      jwtVerify(lastOfOld.token, rp(), { issuer: doc.issuer, audience: AUD, currentDate: new Date(lastOfOld.issuedAt.getTime()) }),
      errors.JWKSNoMatchingKey,
    );
    await verify((await cp.ca.jwt.mint(web, [AUD])).token, rp());
    assert.ok(fetched.every((u) => u === doc.jwks_uri));
  });

  test('cache headers: the JWKS max-age is at most half the publish lead, ETag answers 304 until the keys change', async () => {
    const r = await get('/keys');
    const maxAge = Number(/max-age=(\d+)/.exec(r.headers['cache-control']!)![1]);
    assert.ok(maxAge > 0 && maxAge * 1000 <= cp.ca.jwt.publishLeadMs / 2, `max-age ${maxAge}`);
    assert.ok(r.headers['etag']);
    assert.equal((await get('/keys', { 'if-none-match': r.headers['etag']! })).status, 304);
    cp.ca.jwt.rotateNow();
    const after = await get('/keys', { 'if-none-match': r.headers['etag']! });
    assert.equal(after.status, 200);
    assert.notEqual(after.headers['etag'], r.headers['etag']);
    assert.equal((await get('/other')).status, 404);
  });

  test('a new certificate in the files is served to new connections; a bad pair keeps the last good one', async () => {
    const before = (await get('/keys')).peerFingerprint;
    const fresh = makeServerCert(dir, 'next');
    const reloaded = new Promise((ok) => cp.oidcDiscovery!.onCertificateReload(ok));
    writeFileSync(tls.keyFile, readFileSync(fresh.keyFile));
    writeFileSync(tls.certFile, readFileSync(fresh.certFile));
    // The watch may fire between the two writes (a pair that does not match); wait for the good one.
    for (;;) {
      const r = (await reloaded) as { ok: boolean };
      if (r.ok || cp.oidcDiscovery!.reloadCertificate().ok) break;
    }
    const now = await get('/keys');
    assert.notEqual(now.peerFingerprint, before);
    writeFileSync(tls.keyFile, 'not a key');
    const bad = cp.oidcDiscovery!.reloadCertificate();
    assert.equal(bad.ok, false);
    assert.ok(!bad.error!.includes('not a key'));
    writeFileSync(tls.keyFile, readFileSync(fresh.keyFile));
    assert.equal((await get('/keys')).peerFingerprint, now.peerFingerprint);
  });
});
