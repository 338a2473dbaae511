import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { BundleSet, X509Bundle, type BundleSource } from '../../src/spiffe/bundle.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { verifyX509Svid, X509SvidError } from '../../src/spiffe/x509svid.js';
import { throwsCode } from './assert-error.js';
import * as f from './fixtures.js';

const bundle = (td: string, ...certs: X509Certificate[]): X509Bundle => new X509Bundle(TrustDomain.parse(td), certs);
/** a.example trusts rootA, rootA2 (rotation) and rootRsa; b.example trusts rootB; c.example an expired root. */
const all = new BundleSet([
  bundle('a.example', f.rootA.cert, f.rootA2.cert, f.rootRsa.cert),
  bundle('b.example', f.rootB.cert),
  bundle('c.example', f.rootExpired.cert),
]);
const subjects = (certs: readonly X509Certificate[]): string[] => certs.map((c) => c.subject.split('\n')[0] ?? '');

describe('verifyX509Svid accepts', () => {
  const cases: Array<[string, X509Certificate[], string, string[], Date?]> = [
    ['a leaf signed by a root in its bundle', [f.leafA.cert], f.ID_A, ['CN=web', 'CN=root A']],
    ['a leaf signed by the second authority of a rotating bundle', [f.leafA2.cert], f.ID_A, ['CN=web by root A2', 'CN=root A2']],
    ['a leaf under an RSA root', [f.leafRsaRoot.cert], f.ID_A, ['CN=web under RSA root', 'CN=root RSA']],
    ['a leaf with one intermediate', [f.leafViaInter.cert, f.interA.cert], f.ID_A, ['CN=web via intermediate', 'CN=intermediate A', 'CN=root A']],
    ['a leaf with two intermediates', [f.leafViaTwoInters.cert, f.interA2.cert, f.interA.cert], f.ID_A, ['CN=web via two intermediates', 'CN=intermediate A level 2', 'CN=intermediate A', 'CN=root A']],
    ['intermediates sent out of order', [f.leafViaTwoInters.cert, f.interA.cert, f.interA2.cert], f.ID_A, ['CN=web via two intermediates', 'CN=intermediate A level 2', 'CN=intermediate A', 'CN=root A']],
    ['a chain that also carries the root', [f.leafViaInter.cert, f.interA.cert, f.rootA.cert], f.ID_A, ['CN=web via intermediate', 'CN=intermediate A', 'CN=root A']],
    ['an unrelated extra certificate in the chain', [f.leafA.cert, f.rootB.cert], f.ID_A, ['CN=web', 'CN=root A']],
    ['a leaf with an otherName SAN beside its URI SAN', [f.leafOtherNameSan.cert], f.ID_OTHER_NAME, ['CN=otherName SAN', 'CN=root A']],
    ['a leaf of another trust domain against its own bundle', [f.leafB.cert], f.ID_B, ['CN=api', 'CN=root B']],
    ['a leaf at the first instant of its window', [f.leafA.cert], f.ID_A, ['CN=web', 'CN=root A'], f.VALID_FROM],
    ['a leaf at the last instant of its window', [f.leafA.cert], f.ID_A, ['CN=web', 'CN=root A'], f.VALID_TO],
  ];
  for (const [name, chain, id, path, now] of cases) {
    test(name, () => {
      const got = verifyX509Svid(chain, all, now ?? f.NOW);
      assert.equal(got.spiffeId.toString(), id);
      assert.deepEqual(subjects(got.verifiedChain), path);
    });
  }
});

describe('verifyX509Svid rejects', () => {
  const onlyA = new BundleSet([bundle('a.example', f.rootA.cert)]);
  const onlyA2 = new BundleSet([bundle('a.example', f.rootA2.cert)]);
  const emptyA = new BundleSet([bundle('a.example')]);
  const before = new Date(f.VALID_FROM.getTime() - 1000);
  const cases: Array<[string, X509Certificate[], BundleSource, string, Date?, ...string[]]> = [
    ['an empty chain', [], all, 'EMPTY_CHAIN'],
    ['a leaf without a URI SAN', [f.leafNoSan.cert], all, 'LEAF_NO_URI_SAN', undefined, 'CN=no san'],
    ['a leaf with two URI SANs', [f.leafTwoUris.cert], all, 'LEAF_MULTIPLE_URI_SANS', undefined, '2 URI SANs'],
    ['a leaf whose URI SAN is https', [f.leafHttpsUri.cert], all, 'LEAF_BAD_SPIFFE_ID', undefined, 'must start with "spiffe://"'],
    ['a leaf whose trust domain has upper case', [f.leafUpperTd.cert], all, 'LEAF_BAD_SPIFFE_ID', undefined, 'invalid character "A" at index 9'],
    ['a leaf whose ID has no path', [f.leafNoPath.cert], all, 'LEAF_ID_NO_PATH', undefined, 'spiffe://a.example'],
    ['a leaf that is a CA', [f.leafIsCa.cert], all, 'LEAF_IS_CA', undefined, 'cA=true'],
    ['a leaf without a key usage extension', [f.leafNoKeyUsage.cert], all, 'LEAF_NO_DIGITAL_SIGNATURE', undefined, 'no keyUsage'],
    ['a leaf whose key usage lacks digitalSignature', [f.leafNoDigitalSignature.cert], all, 'LEAF_NO_DIGITAL_SIGNATURE', undefined, 'lacks digitalSignature'],
    ['a leaf with keyCertSign', [f.leafKeyCertSign.cert], all, 'LEAF_KEY_CERT_SIGN'],
    ['a leaf with cRLSign', [f.leafCrlSign.cert], all, 'LEAF_CRL_SIGN'],
    ['a leaf with an unknown critical extension', [f.leafCriticalUnknown.cert], all, 'UNHANDLED_CRITICAL_EXTENSION', undefined, '1.3.6.1.4.1.99999.1'],
    ['a leaf whose keyUsage extension is not DER of a BIT STRING', [f.leafBrokenKeyUsage.cert], all, 'MALFORMED_CERTIFICATE', undefined, 'CN=broken keyUsage'],
    ['a leaf of a trust domain without a bundle', [f.leafB.cert], onlyA, 'NO_BUNDLE', undefined, '"b.example"'],
    ['a leaf whose trust domain bundle has no authorities', [f.leafA.cert], emptyA, 'NO_BUNDLE', undefined, '"a.example"'],
    ['an intermediate that is not a CA', [f.leafUnderNotCa.cert, f.interNotCa.cert], all, 'INTERMEDIATE_NOT_CA', undefined, 'intermediate 1', 'CN=intermediate not CA'],
    ['an intermediate without keyCertSign', [f.leafUnderNoKeyCertSign.cert, f.interNoKeyCertSign.cert], all, 'INTERMEDIATE_NO_KEY_CERT_SIGN', undefined, 'keyCertSign'],
    ['an intermediate with an unknown critical extension', [f.leafUnderCriticalUnknown.cert, f.interCriticalUnknown.cert], all, 'UNHANDLED_CRITICAL_EXTENSION', undefined, 'intermediate 1'],
    ['more intermediates than a pathLenConstraint allows', [f.leafUnderPathLen.cert, f.interBelowPathLen0.cert, f.interPathLen0.cert], all, 'PATH_LENGTH_EXCEEDED', undefined, 'pathLenConstraint'],
    // The impersonation case: b.example's CA signs an a.example ID while both bundles are in the set.
    ['a leaf signed by another trust domain CA present in the set', [f.leafAFromRootB.cert], all, 'UNTRUSTED', undefined, 'trust domain "a.example"', 'CN=root B'],
    ['a leaf and root B together in the chain', [f.leafAFromRootB.cert, f.rootB.cert], all, 'UNTRUSTED'],
    ['a leaf from a CA that copies the trusted root name', [f.leafAFromImpostor.cert], all, 'UNTRUSTED'],
    ['a leaf whose intermediate was not sent', [f.leafViaInter.cert], all, 'UNTRUSTED', undefined, 'CN=intermediate A'],
    ['a leaf whose root was rotated out of the bundle', [f.leafA.cert], onlyA2, 'UNTRUSTED'],
    ['a leaf signed by a non-CA certificate that sits in the bundle', [f.leafSignedByLeaf.cert], new BundleSet([bundle('a.example', f.leafA.cert)]), 'UNTRUSTED'],
    ['a leaf before its window', [f.leafA.cert], all, 'NOT_YET_VALID', before, 'leaf'],
    ['a leaf whose window has not begun at now', [f.leafNotYetValid.cert], all, 'NOT_YET_VALID', undefined, '2026-01-16T00:00:00.000Z'],
    ['an expired leaf', [f.leafExpired.cert], all, 'EXPIRED', undefined, 'leaf', '2026-01-14T00:00:00.000Z'],
    ['an expired intermediate', [f.leafUnderExpired.cert, f.interExpired.cert], all, 'EXPIRED', undefined, 'intermediate 1'],
    ['an expired authority', [f.leafUnderExpiredRoot.cert], all, 'EXPIRED', undefined, 'authority of c.example'],
    ['everything one millisecond after the window', [f.leafA.cert], all, 'EXPIRED', new Date(f.VALID_TO.getTime() + 1)],
  ];
  for (const [name, chain, bundles, code, now, ...fragments] of cases) {
    test(`${name} (${code})`, () => {
      throwsCode(() => verifyX509Svid(chain, bundles, now ?? f.NOW), X509SvidError, code, ...fragments);
    });
  }
});

describe('verifyX509Svid trust domain isolation', () => {
  test('asks the bundle source only for the trust domain of the SVID', () => {
    const asked: string[] = [];
    const source: BundleSource = {
      getBundle: (td) => {
        asked.push(td);
        return all.getBundle(td);
      },
    };
    assert.throws(() => verifyX509Svid([f.leafAFromRootB.cert], source, f.NOW), X509SvidError);
    verifyX509Svid([f.leafB.cert], source, f.NOW);
    assert.deepEqual(asked, ['a.example', 'b.example']);
  });
});

test('verifyX509Svid refuses an invalid Date rather than skipping the validity checks', () => {
  assert.throws(() => verifyX509Svid([f.leafExpired.cert], all, new Date(Number.NaN)), TypeError);
});
