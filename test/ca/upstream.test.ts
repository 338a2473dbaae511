import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { CaError } from '../../src/ca/errors.js';
import { ManualClock } from '../../src/clock.js';
import { BundleSet } from '../../src/spiffe/bundle.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { verifyX509Svid } from '../../src/spiffe/x509svid.js';
import { openssl, tempDir, writePem } from './helpers.js';

const td = TrustDomain.parse('example.org');
const workload = SpiffeId.parse('spiffe://example.org/ns/billing/sa/api');

/** An upstream root made by the openssl CLI, independent of trustplane's encoder. */
function upstreamRoot(opts: { ca?: boolean; days?: number } = {}): { certFile: string; keyFile: string } {
  const dir = tempDir();
  const certFile = join(dir, 'root.crt');
  const keyFile = join(dir, 'root.key');
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-subj', '/O=Upstream/CN=Upstream Root', '-days', String(opts.days ?? 30),
    '-addext', `basicConstraints=critical,CA:${opts.ca === false ? 'FALSE' : 'TRUE'}`,
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  return { certFile, keyFile };
}

describe('intermediate CA under an upstream root', () => {
  test('bundle holds the upstream root; the SVID chain is leaf + intermediate and verifies', () => {
    const upstream = upstreamRoot();
    const clock = new ManualClock(Date.now());
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock, upstream });
    const svid = ca.mintX509Svid(workload);
    ca.close();

    const anchors = ca.bundle().x509Authorities;
    assert.equal(anchors.length, 1);
    assert.equal(anchors[0]!.subject, 'O=Upstream\nCN=Upstream Root');
    assert.equal(svid.chain.length, 2);
    assert.ok(svid.chain[1]!.ca);
    assert.ok(svid.chain[1]!.checkIssued(anchors[0]!) && svid.chain[1]!.verify(anchors[0]!.publicKey));

    verifyX509Svid(svid.chain, new BundleSet([ca.bundle()]), new Date(clock.now()));
    const dir = tempDir();
    const out = openssl([
      'verify', '-CAfile', writePem(dir, 'bundle.pem', anchors), '-untrusted', writePem(dir, 'intermediate.pem', [svid.chain[1]!]),
      writePem(dir, 'svid.pem', [svid.chain[0]!]),
    ]);
    assert.match(out, /svid\.pem: OK/);
  });

  test('the intermediate never outlives the upstream certificate', () => {
    const upstream = upstreamRoot({ days: 2 });
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock: new ManualClock(Date.now()), upstream });
    const [intermediate] = ca.status();
    ca.close();
    const rootEnd = Date.parse(ca.bundle().x509Authorities[0]!.validTo);
    assert.ok(intermediate!.notAfter.getTime() <= rootEnd);
    assert.ok(intermediate!.notAfter.getTime() > rootEnd - 1000);
  });

  const rejects: [string, () => { certFile: string; keyFile: string }, string, RegExp][] = [
    ['an upstream certificate that is not a CA', () => upstreamRoot({ ca: false }), 'CA_UPSTREAM_INVALID', /is not a CA/],
    ['a key that does not belong to the certificate', () => ({ ...upstreamRoot(), keyFile: upstreamRoot().keyFile }), 'CA_UPSTREAM_INVALID', /is not the key of/],
    ['a certificate file holding a key', () => { const u = upstreamRoot(); return { certFile: u.keyFile, keyFile: u.keyFile }; }, 'CA_UPSTREAM_INVALID', /root\.key/],
    ['a missing key file', () => ({ ...upstreamRoot(), keyFile: join(tempDir(), 'absent.key') }), 'CA_UPSTREAM_INVALID', /absent\.key: ENOENT/],
  ];
  for (const [name, files, code, message] of rejects) {
    test(`rejects ${name}`, () => {
      // The files first: openssl stamps whole seconds, and a clock read before them could fall before notBefore.
      const upstream = files();
      const clock = new ManualClock(Date.now());
      assert.throws(
        () => CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock, upstream }),
        (err: unknown) => {
          assert.ok(err instanceof CaError, String(err));
          assert.equal(err.code, code);
          assert.match(err.message, message);
          assert.doesNotMatch(err.message, /PRIVATE KEY|MII|BEGIN/);
          return true;
        },
      );
    });
  }

  test('a data directory made in root mode is not silently reused under an upstream', () => {
    const dataDir = tempDir();
    // The root first: openssl stamps whole seconds, and a clock read before it could fall before its notBefore.
    const upstream = upstreamRoot();
    const clock = new ManualClock(Date.now());
    CertificateAuthority.open({ trustDomain: td, dataDir, clock }).close();
    assert.throws(
      () => CertificateAuthority.open({ trustDomain: td, dataDir, clock, upstream }),
      (err: unknown) => err instanceof CaError && err.code === 'CA_UPSTREAM_MISMATCH',
    );
  });
});
