// Data directories written before the CA and the JWT keys shared one journal mechanism still open: the fixtures are
// <dataDir>/ca as the earlier code left it (journal.json, jwt-journal.json, certificates and keys), once in the
// middle of a rotation (a prepared authority and key) and once just after one (old ones still published), with what
// the earlier code reported when it reopened them (expected.json). Test-only keys of a CA that expired in January 2026.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { ManualClock } from '../../src/clock.js';
import { validateJwtSvid } from '../../src/jwt/validate.js';
import { BundleSet } from '../../src/spiffe/bundle.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { verifyX509Svid } from '../../src/spiffe/x509svid.js';
import { tempDir } from './helpers.js';

const H = 3600_000;
const td = TrustDomain.parse('example.org');
const web = SpiffeId.parse('spiffe://example.org/web');
const FIXTURES = join(process.cwd(), 'test', 'ca', 'fixtures', 'journal-v1');

interface Expected {
  now: number;
  ca: Array<{ id: string; state: string; issuedUntil: number | null }>;
  jwt: Array<{ keyId: string; state: string; issuedUntil: number | null }>;
  bundlePem: string;
  jwtKeys: string[];
  sequence: number;
}

/** A copy of the fixture with the modes trustplane leaves (git keeps none of them). */
function copyOf(name: string): string {
  const dataDir = tempDir();
  const dir = join(dataDir, 'ca');
  cpSync(join(FIXTURES, name, 'ca'), dir, { recursive: true });
  chmodSync(dir, 0o700);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o600);
  return dataDir;
}

const statusOf = (ca: CertificateAuthority): Omit<Expected, 'now'> => ({
  ca: ca.status().map((a) => ({ id: a.id, state: a.state, issuedUntil: a.issuedUntil?.getTime() ?? null })),
  jwt: ca.jwt.status().map((k) => ({ keyId: k.keyId, state: k.state, issuedUntil: k.issuedUntil?.getTime() ?? null })),
  bundlePem: ca.bundle().toPem(),
  jwtKeys: ca.bundle().jwtAuthorities.map((j) => j.keyId),
  sequence: ca.bundle().sequence!,
});

describe('a data directory written by the earlier journal code', () => {
  for (const name of ['prepared', 'rotated']) {
    test(`${name}: opens with the same authorities, keys, bounds and bundle, rewrites nothing, signs, and rotates on`, async () => {
      const expected = JSON.parse(readFileSync(join(FIXTURES, name, 'expected.json'), 'utf8')) as Expected;
      const dataDir = copyOf(name);
      const journals = ['journal.json', 'jwt-journal.json'].map((f) => readFileSync(join(dataDir, 'ca', f), 'utf8'));
      const clock = new ManualClock(expected.now);
      const ca = CertificateAuthority.open({ trustDomain: td, dataDir, clock, caTtlMs: 6 * H, svidTtlMs: H });
      try {
        const { now: _now, ...want } = expected;
        assert.deepEqual(statusOf(ca), want);
        assert.deepEqual(['journal.json', 'jwt-journal.json'].map((f) => readFileSync(join(dataDir, 'ca', f), 'utf8')), journals, 'nothing was due, so nothing is rewritten');

        const svid = ca.mintX509Svid(web);
        verifyX509Svid(svid.chain, new BundleSet([ca.bundle()]), new Date(clock.now()));
        const jwt = await ca.jwt.mint(web, ['a']);
        const activeKid = expected.jwt.find((k) => k.state === 'active')!.keyId;
        assert.equal(jwt.keyId, activeKid, 'the journal\'s active key signs');
        await validateJwtSvid(jwt.token, { audience: 'a', bundles: new BundleSet([ca.bundle()]), clock });

        // Past the next activation and the old ones' last SVID and token: the earlier journal rotates on.
        clock.advance(3 * H);
        const states = (xs: Array<{ state: string }>): string[] => xs.map((x) => x.state).sort();
        assert.ok(!ca.status().some((a) => a.id === expected.ca[0]!.id), 'the first CA left after its SVIDs expired');
        assert.ok(!ca.jwt.status().some((k) => k.keyId === expected.jwt[0]!.keyId), 'the first JWT key left after its tokens expired');
        assert.ok(states(ca.status()).includes('active') && states(ca.jwt.status()).includes('active'));
        assert.ok(!readdirSync(join(dataDir, 'ca')).some((f) => f.includes(expected.ca[0]!.id) || f.includes(expected.jwt[0]!.keyId)), "the files of what left are deleted");
        const reopened = CertificateAuthority.open({ trustDomain: td, dataDir, clock, caTtlMs: 6 * H, svidTtlMs: H });
        assert.deepEqual(statusOf(reopened), statusOf(ca), 'what it wrote reads back the same');
        reopened.close();
      } finally {
        ca.close();
      }
    });
  }
});
