// The identity store carries the CA's JWT authorities: a JWT key rotation reaches its subscribers (the Workload
// API, the JWKS endpoint, bundle endpoints) without changing the X.509 version SDS serves under.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { SvidManager } from '../../src/ca/svid-manager.js';
import { IdentityStore } from '../../src/store/identity-store.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { ManualClock, tempDir } from './fixtures.js';

describe('JWT authorities in the identity store', () => {
  test('a JWT key rotation replaces the stored bundle and is told, under the same X.509 version', () => {
    const clock = new ManualClock();
    const td = TrustDomain.parse('example.org');
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock });
    const store = new IdentityStore(td.name);
    const svids = new SvidManager({ ca, store, clock });
    const told: string[][] = [];
    store.subscribe((c) => told.push([...c.bundles]));
    const version = store.bundleVersion(td.name);
    const before = store.getBundle(td.name)!.jwtAuthorities.map((a) => a.keyId);
    ca.jwt.rotateNow();
    const after = store.getBundle(td.name)!.jwtAuthorities.map((a) => a.keyId);
    assert.equal(before.length, 1);
    assert.equal(after.length, 2);
    assert.ok(after.includes(before[0]!));
    assert.deepEqual(told.at(-1), [td.name]);
    assert.equal(store.bundleVersion(td.name), version, 'SDS content (X.509) unchanged');
    // Setting the same bundle again is no change.
    const n = told.length;
    store.setBundle(ca.bundle());
    assert.equal(told.length, n);
    svids.close();
    ca.close();
  });
});
