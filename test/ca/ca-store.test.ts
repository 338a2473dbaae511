import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync, unlinkSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { CaError } from '../../src/ca/errors.js';
import { ManualClock } from '../../src/clock.js';
import { BundleSet } from '../../src/spiffe/bundle.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { verifyX509Svid } from '../../src/spiffe/x509svid.js';
import { tempDir } from './helpers.js';

const td = TrustDomain.parse('example.org');
const workload = SpiffeId.parse('spiffe://example.org/web');
const mode = (p: string): number => statSync(p).mode & 0o777;

function openIn(dataDir: string, clock = new ManualClock()): CertificateAuthority {
  return CertificateAuthority.open({ trustDomain: td, dataDir, clock });
}

describe('CA persistence', () => {
  test('the CA directory is 0700 and every file in it 0600, with no temp files left behind', () => {
    const dataDir = tempDir();
    openIn(dataDir).close();
    const dir = join(dataDir, 'ca');
    assert.equal(mode(dir), 0o700);
    const files = readdirSync(dir);
    assert.deepEqual(files.filter((f) => f.endsWith('.tmp')), []);
    assert.ok(files.some((f) => f.endsWith('.key.pem')));
    for (const f of files) assert.equal(mode(join(dir, f)), 0o600, f);
  });

  test('a restart reuses the same CA: same bundle, and old SVIDs still verify', () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    const first = openIn(dataDir, clock);
    const before = first.mintX509Svid(workload);
    const bundleBefore = first.bundle().x509Authorities.map((c) => c.fingerprint256);
    first.close();

    const second = openIn(dataDir, clock);
    assert.deepEqual(second.bundle().x509Authorities.map((c) => c.fingerprint256), bundleBefore);
    const after = second.mintX509Svid(workload);
    assert.equal(after.chain[0]!.issuer, before.chain[0]!.issuer);
    const bundles = new BundleSet([second.bundle()]);
    verifyX509Svid(before.chain, bundles, new Date(clock.now()));
    verifyX509Svid(after.chain, bundles, new Date(clock.now()));
    second.close();
  });

  test('a restart in the middle of a rotation keeps the prepared CA', () => {
    const dataDir = tempDir();
    const clock = new ManualClock();
    const first = openIn(dataDir, clock);
    first.mintX509Svid(workload);
    clock.advance(4 * 24 * 3600_000); // past 1/2 of the default 7 days
    const states = first.status().map((s) => [s.id, s.state]);
    assert.deepEqual(states.map(([, s]) => s).sort(), ['active', 'prepared']);
    first.close();
    const second = openIn(dataDir, clock);
    assert.deepEqual(second.status().map((s) => [s.id, s.state]), states);
    second.close();
  });
});

describe('a damaged CA directory is reported with the file at fault and no key material', () => {
  function damaged(damage: (dir: string, id: string) => void): unknown {
    const dataDir = tempDir();
    const ca = openIn(dataDir);
    const id = ca.status()[0]!.id;
    ca.close();
    damage(join(dataDir, 'ca'), id);
    try {
      openIn(dataDir).close();
    } catch (err) {
      return err;
    }
    assert.fail('opening a damaged CA directory succeeded');
  }

  const keyPem = (dir: string, id: string): string => readFileSync(join(dir, `${id}.key.pem`), 'utf8');
  const cases: [string, (dir: string, id: string) => void, string, RegExp][] = [
    ['truncated journal', (dir) => writeFileSync(join(dir, 'journal.json'), '{"version": 1, "authori'), 'CA_STORE_CORRUPT', /journal\.json is not valid JSON/],
    ['journal with an unknown state', (dir) => {
      const f = join(dir, 'journal.json');
      writeFileSync(f, readFileSync(f, 'utf8').replace('"active"', '"bogus"'));
    }, 'CA_STORE_CORRUPT', /authorities\[0\]\.state/],
    ['truncated key file', (dir, id) => writeFileSync(join(dir, `${id}.key.pem`), keyPem(dir, id).slice(0, 90)), 'CA_STORE_CORRUPT', /\.key\.pem is not a PEM private key/],
    ['key file of another CA', (dir, id) => {
      const other = tempDir();
      const ca = openIn(other);
      const otherId = ca.status()[0]!.id;
      ca.close();
      copyFileSync(join(other, 'ca', `${otherId}.key.pem`), join(dir, `${id}.key.pem`));
    }, 'CA_STORE_CORRUPT', /\.key\.pem does not belong to the certificate/],
    ['garbage certificate', (dir, id) => writeFileSync(join(dir, `${id}.crt.pem`), 'not a certificate'), 'CA_STORE_CORRUPT', /\.crt\.pem is not a PEM certificate/],
    ['missing certificate', (dir, id) => unlinkSync(join(dir, `${id}.crt.pem`)), 'CA_STORE_IO', /cannot read .*\.crt\.pem: ENOENT/],
  ];
  for (const [name, damage, code, message] of cases) {
    test(name, () => {
      const err = damaged(damage);
      assert.ok(err instanceof CaError, String(err));
      assert.equal(err.code, code);
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /PRIVATE KEY|MII|BEGIN/);
      assert.equal(err.cause, undefined);
    });
  }
});

test('files of a CA that left the bundle are deleted, the key as soon as it stops signing', () => {
  const dataDir = tempDir();
  const clock = new ManualClock();
  const ca = openIn(dataDir, clock);
  const first = ca.status()[0]!.id;
  ca.mintX509Svid(workload);
  ca.rotateNow();
  const files = (): string[] => readdirSync(join(dataDir, 'ca')).filter((f) => f.startsWith(first));
  assert.deepEqual(files(), [`${first}.crt.pem`]);
  ca.close();
  // A restarted CA still cleans up what the previous process retired.
  clock.advance(2 * 3600_000);
  openIn(dataDir, clock).close();
  assert.deepEqual(files(), []);

  test('a data directory holding the CA of another trust domain is refused, not reused for this one', () => {
    const dataDir = tempDir();
    const clock = new ManualClock(Date.now());
    CertificateAuthority.open({ trustDomain: TrustDomain.parse('example.org'), dataDir, clock }).close();
    assert.throws(
      () => CertificateAuthority.open({ trustDomain: TrustDomain.parse('other.org'), dataDir, clock }),
      (err: unknown) => err instanceof CaError && err.code === 'CA_TRUST_DOMAIN_MISMATCH' && /example\.org/.test(err.message) && /other\.org/.test(err.message),
    );
  });
});
