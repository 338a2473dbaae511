import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { inspect } from 'node:util';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { CaError } from '../../src/ca/errors.js';
import type { KeyType } from '../../src/ca/key-type.js';
import { ManualClock } from '../../src/clock.js';
import { BundleSet } from '../../src/spiffe/bundle.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { verifyX509Svid } from '../../src/spiffe/x509svid.js';
import { openssl, tempDir, writePem } from './helpers.js';

const td = TrustDomain.parse('example.org');
const workload = SpiffeId.parse('spiffe://example.org/ns/orders/sa/orders');

function open(keyType: KeyType = 'ec-p256', svidKeyType: KeyType = 'ec-p256', clock = new ManualClock()): CertificateAuthority {
  const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), keyType, svidKeyType, clock });
  return ca;
}

describe('minting with each CA and SVID key type', () => {
  const cases: [string, KeyType, KeyType, string][] = [
    ['P-256 CA, P-256 SVID (default)', 'ec-p256', 'ec-p256', 'ecdsa-with-SHA256'],
    ['P-384 CA, P-256 SVID', 'ec-p384', 'ec-p256', 'ecdsa-with-SHA384'],
    ['RSA-2048 CA, P-256 SVID', 'rsa-2048', 'ec-p256', 'sha256WithRSAEncryption'],
    ['RSA-3072 CA, P-384 SVID', 'rsa-3072', 'ec-p384', 'sha256WithRSAEncryption'],
    ['P-256 CA, RSA-2048 SVID', 'ec-p256', 'rsa-2048', 'ecdsa-with-SHA256'],
  ];
  for (const [name, caKey, svidKey, sigAlg] of cases) {
    test(name, () => {
      const clock = new ManualClock(Date.now());
      const ca = open(caKey, svidKey, clock);
      const svid = ca.mintX509Svid(workload);
      ca.close();

      const verified = verifyX509Svid(svid.chain, new BundleSet([ca.bundle()]), new Date(clock.now()));
      assert.equal(verified.spiffeId.toString(), workload.toString());
      assert.equal(svid.chain.length, 1, 'a root CA is a trust anchor: the SVID chain is the leaf alone, never the root');

      const dir = tempDir();
      const bundleFile = writePem(dir, 'bundle.pem', ca.bundle().x509Authorities);
      const leafFile = writePem(dir, 'svid.pem', [svid.chain[0]!]);
      assert.match(openssl(['verify', '-CAfile', bundleFile, leafFile]), /svid\.pem: OK/);

      const text = openssl(['x509', '-in', leafFile, '-noout', '-text']);
      assert.equal(text.match(/URI:/g)?.length, 1, 'exactly one URI SAN');
      assert.match(text, new RegExp(`URI:${workload}\\s*$`, 'm'));
      assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
      assert.match(text, new RegExp(`Key Usage: critical\\s+Digital Signature${svidKey.startsWith('rsa') ? ', Key Encipherment' : ''}\\s*$`, 'm'));
      assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
      assert.match(text, /Subject Key Identifier/);
      assert.match(text, /Authority Key Identifier/);
      assert.match(text, new RegExp(`Signature Algorithm: ${sigAlg}`));

      // The private key belongs to the certificate and is PKCS#8 PEM.
      assert.match(svid.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
      const key = createPrivateKey(svid.privateKeyPem);
      assert.ok(svid.chain[0]!.checkPrivateKey(key));
      const sig = sign(svidKey.startsWith('rsa') ? 'sha256' : null, Buffer.from('hello'), key);
      assert.ok(verify(svidKey.startsWith('rsa') ? 'sha256' : null, Buffer.from('hello'), createPublicKey(svid.privateKeyPem), sig));
    });
  }
});

describe('SVID fields', () => {
  test('serial is a positive 16-octet random integer, recorded in upper-case hex', () => {
    const ca = open();
    const serials = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const svid = ca.mintX509Svid(workload);
      assert.match(svid.serial, /^[4-7][0-9A-F]{31}$/);
      assert.equal(svid.chain[0]!.serialNumber.toUpperCase(), svid.serial);
      serials.add(svid.serial);
    }
    assert.equal(serials.size, 200);
    ca.close();
  });

  test('default TTL is one hour, notBefore backdated 10 s, record times equal certificate times', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0, 500));
    const ca = open('ec-p256', 'ec-p256', clock);
    const svid = ca.mintX509Svid(workload);
    assert.equal(svid.notBefore.getTime(), Date.UTC(2026, 0, 1, 11, 59, 50));
    assert.equal(svid.notAfter.getTime(), Date.UTC(2026, 0, 1, 13, 0, 0));
    assert.equal(Date.parse(svid.chain[0]!.validFrom), svid.notBefore.getTime());
    assert.equal(Date.parse(svid.chain[0]!.validTo), svid.notAfter.getTime());
    ca.close();
  });

  test('an SVID never outlives the CA that signed it', () => {
    const clock = new ManualClock();
    const ca = open('ec-p256', 'ec-p256', clock);
    const caEnd = Date.parse(ca.bundle().x509Authorities[0]!.validTo);
    const svid = ca.mintX509Svid(workload, { ttlMs: 30 * 24 * 3600_000 });
    assert.equal(svid.notAfter.getTime(), caEnd);
    ca.close();
  });

  test('the SPIFFE-ID is the only SAN and the subject is not empty, so the SAN need not be critical', () => {
    const ca = open();
    const leaf = ca.mintX509Svid(workload).chain[0]!;
    assert.equal(leaf.subjectAltName, `URI:${workload}`);
    assert.equal(leaf.subject, 'O=trustplane');
    assert.equal(leaf.ca, false);
    ca.close();
  });

  test('the CA certificate is a CA with keyCertSign and the trust domain URI SAN', () => {
    const ca = open();
    const dir = tempDir();
    const text = openssl(['x509', '-in', writePem(dir, 'ca.pem', ca.bundle().x509Authorities), '-noout', '-text']);
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
    assert.match(text, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    assert.match(text, /URI:spiffe:\/\/example\.org\s*$/m);
    ca.close();
  });
});

describe('minting rejects', () => {
  const ca = open();
  const cases: [string, () => unknown, string][] = [
    ['an ID from another trust domain', () => ca.mintX509Svid(SpiffeId.parse('spiffe://other.org/x')), 'SVID_ID_INVALID'],
    ['the trust domain ID itself', () => ca.mintX509Svid(SpiffeId.parse('spiffe://example.org')), 'SVID_ID_INVALID'],
    ['a TTL under a second', () => ca.mintX509Svid(workload, { ttlMs: 10 }), 'SVID_TTL_INVALID'],
    ['a public key that is not DER', () => ca.signX509Svid(workload, Buffer.from('-----BEGIN PRIVATE KEY-----')), 'SVID_KEY_INVALID'],
  ];
  for (const [name, fn, code] of cases) {
    test(name, () => {
      assert.throws(fn, (err: unknown) => {
        assert.ok(err instanceof CaError);
        assert.equal(err.code, code);
        assert.doesNotMatch(err.message, /PRIVATE KEY/);
        return true;
      });
    });
  }
  test('close', () => ca.close());
});

test('a minted record does not print its key', () => {
  const ca = open();
  const svid = ca.mintX509Svid(workload);
  ca.close();
  assert.doesNotMatch(JSON.stringify(svid), /PRIVATE KEY/);
  assert.doesNotMatch(inspect(svid), /PRIVATE KEY/);
});
