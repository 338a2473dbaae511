// The CA's JWT signing keys: persisted 0600 beside the CA, rotated prepared -> active -> old on the CA's schedule,
// published before they sign and kept until every token they signed has expired.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { publishLeadMs } from '../../src/ca/rotation.js';
import { JwtKeyError } from '../../src/ca/jwt-errors.js';
import { JwtKeyManager } from '../../src/ca/jwt-key-manager.js';
import { validateJwtSvid } from '../../src/jwt/validate.js';
import { BundleSet } from '../../src/spiffe/bundle.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { ManualClock, partsOf, tempDir } from './fixtures.js';

const td = TrustDomain.parse('example.org');
const web = SpiffeId.parse('spiffe://example.org/web');
const H = 3600_000;
const mode = (p: string): number => statSync(p).mode & 0o777;

describe('JWT signing keys', () => {
  test('live beside the CA: directory 0700, journal and key files 0600, no temp files; a restart keeps the key', async () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir, clock });
    const svid = await ca.jwt.mint(web, ['orders']);
    ca.close();
    const dir = join(dataDir, 'ca');
    assert.equal(mode(dir), 0o700);
    const files = readdirSync(dir);
    assert.deepEqual(files.filter((f) => f.endsWith('.tmp')), []);
    assert.ok(files.includes('jwt-journal.json'));
    assert.ok(files.includes(`jwt-${svid.keyId}.key.pem`));
    for (const f of files) assert.equal(mode(join(dir, f)), 0o600, f);
    assert.ok(!readFileSync(join(dir, 'jwt-journal.json'), 'utf8').includes('"d"'), 'the journal holds public keys only');

    const again = CertificateAuthority.open({ trustDomain: td, dataDir, clock });
    assert.deepEqual(again.jwt.status().map((k) => k.keyId), [svid.keyId]);
    const v = await validateJwtSvid(svid.token, { audience: 'orders', bundles: new BundleSet([again.bundle()]), clock });
    assert.equal(v.keyId, svid.keyId);
    again.close();
  });

  test('the journal reserves past every token signed, so a restart keeps an old key until they expire', async () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir, clock });
    const svid = await ca.jwt.mint(web, ['orders'], { ttlMs: 50 * 60_000 });
    const journal = JSON.parse(readFileSync(join(dataDir, 'ca', 'jwt-journal.json'), 'utf8')) as { keys: Array<{ issuedUntil: number }> };
    assert.ok(journal.keys[0]!.issuedUntil >= svid.expiresAt.getTime());
    ca.jwt.rotateNow();
    ca.close();
    clock.advance(40 * 60_000);
    const again = CertificateAuthority.open({ trustDomain: td, dataDir, clock });
    assert.deepEqual(again.jwt.status().map((k) => [k.keyId === svid.keyId, k.state]), [[true, 'old'], [false, 'active']]);
    await validateJwtSvid(svid.token, { audience: 'orders', bundles: new BundleSet([again.bundle()]), clock });
    assert.ok(!readdirSync(join(dataDir, 'ca')).includes(`jwt-${svid.keyId}.key.pem`), 'an old key no longer signs: its private key is gone');
    again.close();
  });

  test('a token another process minted on the same data directory keeps its key published until it expires', async () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    const server = JwtKeyManager.open({ trustDomain: td, dataDir, clock });
    const cli = JwtKeyManager.open({ trustDomain: td, dataDir, clock });
    const svid = await cli.mint(web, ['orders'], { ttlMs: 50 * 60_000 });
    cli.close();
    server.rotateNow();
    assert.deepEqual(server.status().map((k) => [k.keyId === svid.keyId, k.state]), [[true, 'old'], [false, 'active']]);
    clock.advance(45 * 60_000);
    assert.ok(server.authorities().some((a) => a.keyId === svid.keyId), 'still published while the token is valid');
    // What the other process recorded is its reservation: at most one token TTL past what it signed.
    clock.advanceTo(svid.expiresAt.getTime() + server.tokenTtlMs + 1000);
    assert.ok(!server.authorities().some((a) => a.keyId === svid.keyId), 'gone once the reservation passed');
    server.close();
  });

  test('rotation over four key lifetimes: each key is published before it signs, every token verifies until it expires, an old key leaves after its last token', async () => {
    const clock = new ManualClock();
    const caTtlMs = 6 * H;
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock, caTtlMs, svidTtlMs: H });
    const lead = publishLeadMs(ca.jwt.tokenTtlMs);
    const firstSeen = new Map<string, number>();
    const lastExp = new Map<string, number>();
    let published = new Set<string>();
    const seen = (bundle = ca.bundle()): void => {
      const now = new Set(bundle.jwtAuthorities.map((a) => a.keyId));
      for (const kid of now) if (!firstSeen.has(kid)) firstSeen.set(kid, clock.now());
      for (const kid of published) {
        if (!now.has(kid)) assert.ok((lastExp.get(kid) ?? 0) <= clock.now(), `key ${kid} left the bundle while a token it signed was valid`);
      }
      published = now;
      assert.ok(now.size <= 3);
    };
    ca.onBundleChange((b) => seen(b));
    seen();
    let previous: { token: string } | undefined;
    let sequence = ca.bundle().sequence!;
    for (let t = 0; t < 26 * H; t += 4 * 60_000) {
      clock.advanceTo(Date.UTC(2026, 0, 1) + t);
      const bundles = new BundleSet([ca.bundle()]);
      if (previous) await validateJwtSvid(previous.token, { audience: 'orders', bundles, clock });
      const svid = await ca.jwt.mint(web, ['orders']);
      assert.ok(clock.now() - firstSeen.get(svid.keyId)! >= lead || firstSeen.get(svid.keyId) === Date.UTC(2026, 0, 1), 'signed before it was published for the lead time');
      assert.equal(partsOf(svid.token)[0]['kid'], svid.keyId);
      lastExp.set(svid.keyId, Math.max(lastExp.get(svid.keyId) ?? 0, svid.expiresAt.getTime()));
      assert.ok(ca.bundle().sequence! >= sequence);
      sequence = ca.bundle().sequence!;
      previous = svid;
    }
    assert.ok(firstSeen.size >= 5, `keys used: ${firstSeen.size}`);
    ca.close();
  });

  test('ES384 and RS256 are selectable: the header alg, the bundle key type and validation follow', async () => {
    for (const [algorithm, kty, crv] of [['ES384', 'EC', 'P-384'], ['RS256', 'RSA', undefined]] as const) {
      const clock = new ManualClock();
      const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock, jwt: { algorithm } });
      const svid = await ca.jwt.mint(web, ['orders']);
      assert.equal(partsOf(svid.token)[0]['alg'], algorithm);
      const key = ca.bundle().jwtAuthorities[0]!.publicKey;
      assert.equal(key['kty'], kty);
      assert.equal(key['crv'], crv);
      await validateJwtSvid(svid.token, { audience: 'orders', bundles: new BundleSet([ca.bundle()]), clock });
      ca.close();
    }
  });

  test('claims: sub, aud (a string for one, an array for several), iat, exp = iat + TTL, iss only with an issuer', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 0, 700));
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock, jwt: { tokenTtlMs: 120_000, issuer: 'https://oidc.example.org' } });
    const one = partsOf((await ca.jwt.mint(web, ['orders'])).token)[1];
    const iat = Math.floor(clock.now() / 1000);
    assert.deepEqual(one, { sub: web.toString(), aud: 'orders', exp: iat + 120, iat, iss: 'https://oidc.example.org' });
    const two = partsOf((await ca.jwt.mint(web, ['orders', 'billing'], { ttlMs: 60_000 })).token)[1];
    assert.deepEqual(two['aud'], ['orders', 'billing']);
    assert.equal(two['exp'], iat + 60);
    ca.close();
    const plain = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock });
    assert.ok(!('iss' in partsOf((await plain.jwt.mint(web, ['orders'])).token)[1]));
    assert.equal(plain.jwt.tokenTtlMs, 5 * 60_000);
    plain.close();
  });

  test('refuses to mint what the spec or the limits do not allow', async () => {
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock: new ManualClock() });
    const refusals: Array<[string, () => Promise<unknown>, RegExp]> = [
      ['no audience', () => ca.jwt.mint(web, []), /at least one audience/],
      ['an empty audience', () => ca.jwt.mint(web, ['']), /non-empty/],
      ['a TTL over the hard maximum', () => ca.jwt.mint(web, ['a'], { ttlMs: H + 1 }), /hard maximum/],
      ['another trust domain', () => ca.jwt.mint(SpiffeId.parse('spiffe://other.org/web'), ['a']), /only in trust domain example\.org/],
      ['a trust domain ID', () => ca.jwt.mint(SpiffeId.parse('spiffe://example.org'), ['a']), /has a path/],
    ];
    for (const [name, mint, says] of refusals) await assert.rejects(mint(), (e: unknown) => (e as { code?: string }).code === 'JWT_MINT_INVALID' && says.test((e as Error).message), name);
    ca.close();
    assert.throws(() => CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), jwt: { tokenTtlMs: 2 * H } }), (e: unknown) => e instanceof JwtKeyError && e.code === 'JWT_TTL_INVALID');
  });

  test('a corrupt journal, a key file of another key, or another trust domain is refused with the file named', () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    CertificateAuthority.open({ trustDomain: td, dataDir, clock }).close();
    const journalFile = join(dataDir, 'ca', 'jwt-journal.json');
    const journal = readFileSync(journalFile, 'utf8');
    assert.throws(() => JwtKeyManager.open({ trustDomain: TrustDomain.parse('other.org'), dataDir, clock }), (e: unknown) => e instanceof JwtKeyError && e.code === 'JWT_KEY_TRUST_DOMAIN_MISMATCH' && e.message.includes(journalFile));
    writeFileSync(journalFile, '{"version": 1, "trustDomain": "example.org", "sequence": 1, "keys": [');
    assert.throws(() => CertificateAuthority.open({ trustDomain: td, dataDir, clock }), (e: unknown) => e instanceof JwtKeyError && e.code === 'JWT_KEY_STORE_CORRUPT' && e.message.includes(journalFile));
    writeFileSync(journalFile, journal);
    const kid = (JSON.parse(journal) as { keys: Array<{ kid: string }> }).keys[0]!.kid;
    const other = tempDir();
    const otherCa = CertificateAuthority.open({ trustDomain: td, dataDir: other, clock });
    const otherKid = otherCa.jwt.status()[0]!.keyId;
    otherCa.close();
    writeFileSync(join(dataDir, 'ca', `jwt-${kid}.key.pem`), readFileSync(join(other, 'ca', `jwt-${otherKid}.key.pem`)));
    assert.throws(() => CertificateAuthority.open({ trustDomain: td, dataDir, clock }), (e: unknown) => e instanceof JwtKeyError && e.code === 'JWT_KEY_STORE_CORRUPT' && /does not belong to key/.test(e.message));
  });
  test('with requirePublication (replicas), a prepared key signs only a publish lead after it was confirmed published; unconfirmed, only when the active key could no longer sign a full-lifetime token', async () => {
    const clock = new ManualClock();
    const t0 = clock.now();
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock, caTtlMs: 6 * H, svidTtlMs: H });
    ca.jwt.requirePublication();
    const lead = ca.jwt.publishLeadMs;
    const first = ca.jwt.status()[0]!;
    ca.jwt.confirmPublished([first.keyId]);
    clock.advanceTo(t0 + 3 * H + 60_000);
    const next = ca.jwt.status().find((k) => k.state === 'prepared')!.keyId;
    // Past the schedule's activation time, but nobody said the datastore holds the key: the old one keeps signing.
    clock.advanceTo(t0 + 5 * H + 60_000);
    assert.equal((await ca.jwt.mint(web, ['orders'])).keyId, first.keyId);
    ca.jwt.confirmPublished([first.keyId, next]);
    assert.equal((await ca.jwt.mint(web, ['orders'])).keyId, first.keyId, 'not before the publish lead has passed since the confirmation');
    clock.advance(lead);
    assert.equal((await ca.jwt.mint(web, ['orders'])).keyId, next);

    // Never confirmed: the prepared key takes over only when the active one could no longer sign a token for its
    // full lifetime (signing must go on, and tokens are not cut short to the active key's end).
    clock.advanceTo(t0 + 3 * H + 60_000 + 3 * H + 60_000);
    const unconfirmed = ca.jwt.status().find((k) => k.state === 'prepared')!.keyId;
    const active = ca.jwt.status().find((k) => k.state === 'active')!;
    const lastResort = active.notAfter.getTime() - ca.jwt.tokenTtlMs;
    clock.advanceTo(lastResort - 1000);
    assert.equal((await ca.jwt.mint(web, ['orders'])).keyId, next);
    clock.advanceTo(lastResort);
    assert.equal((await ca.jwt.mint(web, ['orders'])).keyId, unconfirmed);
    ca.close();
  });
});
