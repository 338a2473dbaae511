// The JWT authorities in the SPIFFE bundle (JWT-SVID §6, Trust Domain and Bundle §4): published with use jwt-svid
// and kid, read back, and refused when malformed.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { BundleError, X509Bundle } from '../../src/spiffe/bundle.js';
import { jwtAuthorityOf } from '../../src/spiffe/jwt-authority.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { ManualClock, openDomain } from './fixtures.js';

const td = TrustDomain.parse('example.org');
const ecJwk = (): Record<string, unknown> => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
const rsaJwk = (): Record<string, unknown> => generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
const doc = (keys: unknown[]): string => JSON.stringify({ keys, spiffe_sequence: 4 });

describe('JWT authorities in the SPIFFE bundle', () => {
  test("the CA's bundle carries its X.509 CA and its JWT key, each with its use; JWT keys with kid and no x5c", () => {
    const d = openDomain('example.org', new ManualClock());
    const json = JSON.parse(d.ca.bundle().toSpiffeJson()) as { keys: Array<Record<string, unknown>>; spiffe_sequence: number };
    const jwt = json.keys.filter((k) => k['use'] === 'jwt-svid');
    assert.equal(json.keys.filter((k) => k['use'] === 'x509-svid').length, 1);
    assert.equal(jwt.length, 1);
    assert.deepEqual(Object.keys(jwt[0]!).sort(), ['crv', 'kid', 'kty', 'use', 'x', 'y']);
    assert.equal(jwt[0]!['kid'], d.ca.jwt.status()[0]!.keyId);
    // Read back: both kinds, and the sequence.
    const back = X509Bundle.fromSpiffeJson(td, JSON.stringify(json));
    assert.equal(back.x509Authorities.length, 1);
    assert.deepEqual(back.jwtAuthorities.map((a) => a.keyId), [jwt[0]!['kid']]);
    assert.equal(back.sequence, json.spiffe_sequence);
    // The JWT bundle (FetchJWTBundles' form) has only the jwt-svid key.
    const jwtOnly = JSON.parse(d.ca.bundle().toJwtBundleJson()) as { keys: Array<Record<string, unknown>> };
    assert.deepEqual(jwtOnly.keys, jwt);
  });

  test('RSA and EC P-384 keys round-trip; withAuthorities keeps the JWT authorities', () => {
    const rsa = jwtAuthorityOf('rsa-key', rsaJwk());
    const p384 = jwtAuthorityOf('p384-key', generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' }) as Record<string, unknown>);
    const b = new X509Bundle(td, [], { sequence: 1, jwtAuthorities: [rsa, p384] });
    const back = X509Bundle.fromSpiffeJson(td, b.toSpiffeJson());
    assert.deepEqual(back.jwtAuthorities, [rsa, p384]);
    assert.deepEqual(back.withAuthorities([]).jwtAuthorities, [rsa, p384]);
  });

  test('withJwtAuthorities bumps the sequence only when the keys change', () => {
    const k1 = jwtAuthorityOf('k1', ecJwk());
    const b = new X509Bundle(td, [], { sequence: 7, jwtAuthorities: [k1] });
    assert.equal(b.withJwtAuthorities([k1]).sequence, 7);
    assert.equal(b.withJwtAuthorities([k1, jwtAuthorityOf('k2', ecJwk())]).sequence, 8);
  });

  const bad: Array<[string, () => unknown[], string]> = [
    ['a jwt-svid key without kid', () => [{ ...ecJwk(), use: 'jwt-svid' }], 'MISSING_KID'],
    ['a jwt-svid key whose point is not on the curve', () => [{ ...ecJwk(), y: Buffer.alloc(32, 1).toString('base64url'), use: 'jwt-svid', kid: 'k' }], 'BAD_JWK'],
    ['a jwt-svid key with private members', () => [{ ...ecJwk(), d: 'AAAA', use: 'jwt-svid', kid: 'k' }], 'BAD_JWK'],
    ['two jwt-svid keys with one kid', () => [{ ...ecJwk(), use: 'jwt-svid', kid: 'k' }, { ...rsaJwk(), use: 'jwt-svid', kid: 'k' }], 'DUPLICATE_KID'],
  ];
  for (const [name, keys, code] of bad) {
    test(`refuses ${name}: ${code}`, () => {
      assert.throws(() => X509Bundle.fromSpiffeJson(td, doc(keys())), (e: unknown) => e instanceof BundleError && e.code === code && e.keyIndex !== undefined);
    });
  }

  test('ignores jwt-svid keys of a key type or curve it does not know (§4.2.1)', () => {
    const b = X509Bundle.fromSpiffeJson(td, doc([{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA', use: 'jwt-svid', kid: 'ed' }, { kty: 'EC', crv: 'secp256k1', x: 'AAAA', y: 'AAAA', use: 'jwt-svid', kid: 'k1' }]));
    assert.deepEqual(b.jwtAuthorities, []);
  });
});
