import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { BundleError, BundleSet, X509Bundle } from '../../src/spiffe/bundle.js';
import { PemError } from '../../src/spiffe/pem.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { throwsCode } from './assert-error.js';
import { rootA, rootA2, rootB, rootDsa, rootRsa } from './fixtures.js';

const tdA = TrustDomain.parse('a.example');
const tdB = TrustDomain.parse('b.example');
const ders = (certs: readonly X509Certificate[]): string[] => certs.map((c) => c.raw.toString('hex'));
const jwkOf = (c: X509Certificate): Record<string, unknown> => c.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
const x509Key = (c: X509Certificate, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...jwkOf(c),
  use: 'x509-svid',
  x5c: [c.raw.toString('base64')],
  ...extra,
});
const doc = (keys: unknown, extra: Record<string, unknown> = {}): string => JSON.stringify({ keys, ...extra });

describe('X509Bundle', () => {
  test('keeps its trust domain and removes duplicate authorities by DER', () => {
    const b = new X509Bundle(tdA, [rootA.cert, rootA2.cert, rootA.cert], { sequence: 3, refreshHintSeconds: 300 });
    assert.equal(b.trustDomain.name, 'a.example');
    assert.deepEqual(ders(b.x509Authorities), ders([rootA.cert, rootA2.cert]));
    assert.equal(b.sequence, 3);
    assert.equal(b.refreshHintSeconds, 300);
    assert.ok(b.hasAuthority(rootA2.cert));
    assert.ok(!b.hasAuthority(rootB.cert));
  });
  test('rejects a negative sequence and a fractional refresh hint', () => {
    throwsCode(() => new X509Bundle(tdA, [], { sequence: -1 }), BundleError, 'BAD_SEQUENCE');
    throwsCode(() => new X509Bundle(tdA, [], { refreshHintSeconds: 1.5 }), BundleError, 'BAD_REFRESH_HINT');
  });
  test('withAuthorities bumps the sequence only when the set of authorities changes', () => {
    const b = new X509Bundle(tdA, [rootA.cert], { sequence: 7, refreshHintSeconds: 60 });
    const grown = b.withAuthorities([rootA.cert, rootA2.cert]);
    assert.deepEqual(ders(grown.x509Authorities), ders([rootA.cert, rootA2.cert]));
    assert.equal(grown.sequence, 8);
    assert.equal(grown.refreshHintSeconds, 60);
    assert.equal(b.withAuthorities([rootA.cert, rootA.cert]).sequence, 7);
    assert.equal(new X509Bundle(tdA, [rootA.cert]).withAuthorities([rootA2.cert]).sequence, undefined);
    assert.deepEqual(ders(b.x509Authorities), ders([rootA.cert]), 'the original is unchanged');
  });
});

describe('X509Bundle PEM', () => {
  test('round-trips authorities in order', () => {
    const b = new X509Bundle(tdA, [rootA.cert, rootRsa.cert]);
    const back = X509Bundle.fromPem(tdA, b.toPem());
    assert.deepEqual(ders(back.x509Authorities), ders([rootA.cert, rootRsa.cert]));
    assert.equal(back.trustDomain.name, 'a.example');
  });
  const bad: Array<[string, string, string]> = [
    ['an empty file', '', 'PEM_EMPTY'],
    ['a private key', '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n', 'PEM_NOT_CERTIFICATE'],
    ['garbage', 'garbage', 'PEM_NO_BLOCKS'],
  ];
  for (const [name, pem, pemCode] of bad) {
    test(`fromPem rejects ${name} as BAD_PEM with the PEM error as cause`, () => {
      const err = throwsCode(() => X509Bundle.fromPem(tdA, pem), BundleError, 'BAD_PEM', 'X.509 bundle for a.example');
      assert.ok(err.cause instanceof PemError);
      assert.equal(err.cause.code, pemCode);
    });
  }
});

describe('X509Bundle SPIFFE bundle JSON', () => {
  test('writes one x509-svid JWK per authority with x5c, key parameters, sequence and refresh hint', () => {
    const json = new X509Bundle(tdA, [rootA.cert, rootRsa.cert], { sequence: 42, refreshHintSeconds: 600 }).toSpiffeJson();
    const parsed = JSON.parse(json) as { keys: Array<Record<string, unknown>>; spiffe_sequence: number; spiffe_refresh_hint: number };
    assert.equal(parsed.spiffe_sequence, 42);
    assert.equal(parsed.spiffe_refresh_hint, 600);
    assert.equal(parsed.keys.length, 2);
    const [ec, rsa] = parsed.keys;
    assert.ok(!Object.hasOwn(ec ?? {}, 'kid'), 'X509-SVID §6.1: kid must not be set');
    assert.deepEqual(ec, { ...jwkOf(rootA.cert), use: 'x509-svid', x5c: [rootA.cert.raw.toString('base64')] });
    assert.deepEqual(Object.keys(rsa ?? {}).sort(), ['e', 'kty', 'n', 'use', 'x5c']);
  });
  test('leaves out sequence and refresh hint when unset', () => {
    const parsed = JSON.parse(new X509Bundle(tdA, [rootA.cert]).toSpiffeJson()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ['keys']);
  });
  test('round-trips EC and RSA authorities, sequence and refresh hint', () => {
    const b = new X509Bundle(tdA, [rootA.cert, rootRsa.cert], { sequence: 9, refreshHintSeconds: 30 });
    const back = X509Bundle.fromSpiffeJson(tdA, b.toSpiffeJson());
    assert.deepEqual(ders(back.x509Authorities), ders(b.x509Authorities));
    assert.equal(back.sequence, 9);
    assert.equal(back.refreshHintSeconds, 30);
  });
  test('an empty key set is a bundle without X.509 authorities', () => {
    const b = X509Bundle.fromSpiffeJson(tdA, doc([]));
    assert.equal(b.x509Authorities.length, 0);
    assert.equal(b.sequence, undefined);
  });

  // What a consumer does with each "use" (SPIFFE Trust Domain and Bundle §4.2.2: a missing or unknown value, compared
  // case-sensitively, means the whole element is ignored, whatever else it holds; go-spiffe's parser does the
  // same), and with each unknown key type (§4.2.1). Each key sits before a valid x509-svid key, which is kept.
  const jwtKey = { ...jwkOf(rootB.cert), use: 'jwt-svid', kid: 'k1' };
  const noUse = (k: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(k).filter(([n]) => n !== 'use'));
  const keyCases: Array<[string, unknown, 'x509 authority' | 'jwt authority' | 'ignored' | 'BAD_USE']> = [
    ['use "x509-svid"', x509Key(rootA2.cert), 'x509 authority'],
    ['use "jwt-svid"', jwtKey, 'jwt authority'],
    ['no use', noUse(x509Key(rootA2.cert)), 'ignored'],
    ['no use, and no kty or x5c', { crv: 'P-256' }, 'ignored'],
    ['no use, and an x5c that is not a certificate', noUse(x509Key(rootA2.cert, { x5c: ['%%%'] })), 'ignored'],
    ['use null', x509Key(rootA2.cert, { use: null }), 'ignored'],
    ['use ""', x509Key(rootA2.cert, { use: '' }), 'ignored'],
    ['use "X509-SVID" (values are case-sensitive)', x509Key(rootA2.cert, { use: 'X509-SVID' }), 'ignored'],
    ['use "x509-svid-v2"', x509Key(rootA2.cert, { use: 'x509-svid-v2' }), 'ignored'],
    ['use "sig" (RFC 7517\'s generic value)', x509Key(rootA2.cert, { use: 'sig' }), 'ignored'],
    ['use "wit-svid" (no WIT-SVID profile here)', { ...jwtKey, use: 'wit-svid' }, 'ignored'],
    ['an unknown use and no kty', { use: 'x509-svid-v2', x5c: ['AAAA'] }, 'ignored'],
    ['a jwt-svid key of an unknown key type', { kty: 'oct', k: 'AAAA', use: 'jwt-svid', kid: 'k1' }, 'ignored'],
    ['an x509-svid key of an unknown key type', { kty: 'oct', k: 'AAAA', use: 'x509-svid', x5c: ['AAAA'] }, 'ignored'],
    ['use 1 (not a string: a malformed JWK)', x509Key(rootA2.cert, { use: 1 }), 'BAD_USE'],
    ['use ["x509-svid"] (not a string)', x509Key(rootA2.cert, { use: ['x509-svid'] }), 'BAD_USE'],
    ['use true (not a string)', x509Key(rootA2.cert, { use: true }), 'BAD_USE'],
  ];
  for (const [name, key, outcome] of keyCases) {
    test(`a key with ${name}: ${outcome}`, () => {
      const json = doc([key, x509Key(rootA.cert)], { spiffe_sequence: 1, extra_member: true });
      if (outcome === 'BAD_USE') {
        const err = throwsCode(() => X509Bundle.fromSpiffeJson(tdA, json), BundleError, outcome, 'key 0', '"use" must be a string');
        assert.equal(err.keyIndex, 0);
        return;
      }
      const b = X509Bundle.fromSpiffeJson(tdA, json);
      assert.deepEqual(ders(b.x509Authorities), ders(outcome === 'x509 authority' ? [rootA2.cert, rootA.cert] : [rootA.cert]));
      assert.deepEqual(b.jwtAuthorities.map((a) => a.keyId), outcome === 'jwt authority' ? ['k1'] : []);
    });
  }

  test('accepts key parameters with leading zero octets', () => {
    const jwk = jwkOf(rootRsa.cert);
    const n = Buffer.concat([Buffer.from([0]), Buffer.from(String(jwk['n']), 'base64url')]).toString('base64url');
    const b = X509Bundle.fromSpiffeJson(tdA, doc([x509Key(rootRsa.cert, { n })]));
    assert.equal(b.x509Authorities.length, 1);
  });

  const ec = x509Key(rootA.cert);
  const b64A = rootA.cert.raw.toString('base64');
  const malformed: Array<[string, string, string, number | undefined, ...string[]]> = [
    ['text that is not JSON', 'keys: []', 'NOT_JSON', undefined, 'not a JSON document'],
    ['a JSON array', '[]', 'NOT_AN_OBJECT', undefined, 'got an array'],
    ['JSON null', 'null', 'NOT_AN_OBJECT', undefined],
    ['a document without "keys"', '{"spiffe_sequence": 1}', 'MISSING_KEYS', undefined, '"keys"'],
    ['"keys" that is an object', '{"keys": {}}', 'KEYS_NOT_ARRAY', undefined],
    ['a key that is not an object', doc([ec, 'x']), 'BAD_KEY', 1, 'key 1'],
    ['a key without kty', doc([{ use: 'x509-svid', x5c: [b64A] }]), 'MISSING_KTY', 0, 'key 0', '"kty"'],
    ['an x509-svid key without x5c', doc([{ ...ec, x5c: undefined }]), 'MISSING_X5C', 0, '"x5c"'],
    ['an x509-svid key with an empty x5c', doc([{ ...ec, x5c: [] }]), 'X5C_NOT_ONE_CERT', 0, 'got 0 certificates'],
    ['an x509-svid key with two certificates', doc([{ ...ec, x5c: [b64A, rootA2.cert.raw.toString('base64')] }]), 'X5C_NOT_ONE_CERT', 0, 'got 2 certificates'],
    ['an x5c that is a string', doc([{ ...ec, x5c: b64A }]), 'X5C_NOT_ONE_CERT', 0],
    ['an x5c entry that is not base64', doc([{ ...ec, x5c: ['%%%'] }]), 'BAD_X5C', 0],
    ['an x5c entry in base64url', doc([{ ...ec, x5c: [b64A.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') + '-_'] }]), 'BAD_X5C', 0],
    ['an x5c entry that is not a certificate', doc([{ ...ec, x5c: [Buffer.from('not a certificate').toString('base64')] }]), 'BAD_X5C', 0],
    ['key parameters of another key', doc([{ ...ec, ...jwkOf(rootB.cert) }]), 'KEY_MISMATCH', 0, '"x" does not match'],
    ['a kty that is not the certificate key type', doc([{ ...x509Key(rootA.cert), kty: 'RSA' }]), 'KEY_MISMATCH', 0, '"kty" is "RSA"'],
    ['a missing key parameter', doc([{ ...ec, y: undefined }]), 'KEY_MISMATCH', 0, '"y"'],
    ['an RSA modulus of another key', doc([x509Key(rootRsa.cert, { n: Buffer.alloc(256, 7).toString('base64url') })]), 'KEY_MISMATCH', 0, '"n"'],
    ['a negative spiffe_sequence', doc([ec], { spiffe_sequence: -1 }), 'BAD_SEQUENCE', undefined],
    ['a fractional spiffe_sequence', doc([ec], { spiffe_sequence: 1.5 }), 'BAD_SEQUENCE', undefined],
    ['a spiffe_sequence string', doc([ec], { spiffe_sequence: '1' }), 'BAD_SEQUENCE', undefined],
    ['a spiffe_sequence past 2^53', '{"keys": [], "spiffe_sequence": 18446744073709551615}', 'BAD_SEQUENCE', undefined],
    ['a spiffe_refresh_hint string', doc([ec], { spiffe_refresh_hint: '300s' }), 'BAD_REFRESH_HINT', undefined],
    ['a negative spiffe_refresh_hint', doc([ec], { spiffe_refresh_hint: -5 }), 'BAD_REFRESH_HINT', undefined],
  ];
  for (const [name, json, code, keyIndex, ...fragments] of malformed) {
    test(`fromSpiffeJson rejects ${name} (${code})`, () => {
      const err = throwsCode(() => X509Bundle.fromSpiffeJson(tdA, json), BundleError, code, 'SPIFFE bundle for a.example', ...fragments);
      assert.equal(err.keyIndex, keyIndex);
    });
  }

  test('toSpiffeJson rejects an authority whose key has no JWK form (UNSUPPORTED_KEY)', () => {
    throwsCode(() => new X509Bundle(tdA, [rootDsa.cert]).toSpiffeJson(), BundleError, 'UNSUPPORTED_KEY', 'dsa');
  });
  test('fromSpiffeJson rejects an x5c certificate whose key has no JWK form (UNSUPPORTED_KEY)', () => {
    const json = doc([{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', use: 'x509-svid', x5c: [rootDsa.cert.raw.toString('base64')] }]);
    throwsCode(() => X509Bundle.fromSpiffeJson(tdA, json), BundleError, 'UNSUPPORTED_KEY', 'key 0');
  });
});

describe('BundleSet', () => {
  test('holds one bundle per trust domain, the last added winning', () => {
    const set = new BundleSet([new X509Bundle(tdA, [rootA.cert]), new X509Bundle(tdB, [rootB.cert])]);
    set.add(new X509Bundle(tdA, [rootA2.cert]));
    assert.equal(set.size, 2);
    assert.deepEqual(ders(set.getBundle('a.example')?.x509Authorities ?? []), ders([rootA2.cert]));
    assert.deepEqual(ders(set.getBundle('b.example')?.x509Authorities ?? []), ders([rootB.cert]));
  });
  test('looks up by exact trust domain name only', () => {
    const set = new BundleSet([new X509Bundle(tdA, [rootA.cert])]);
    assert.equal(set.getBundle('c.example'), undefined);
    assert.equal(set.getBundle('spiffe://a.example'), undefined);
    assert.ok(set.has('a.example'));
  });
  test('lists bundles sorted by trust domain and removes them', () => {
    const set = new BundleSet([new X509Bundle(tdB, [rootB.cert]), new X509Bundle(tdA, [rootA.cert])]);
    assert.deepEqual(set.bundles().map((b) => b.trustDomain.name), ['a.example', 'b.example']);
    assert.ok(set.remove('a.example'));
    assert.ok(!set.remove('a.example'));
    assert.deepEqual(set.bundles().map((b) => b.trustDomain.name), ['b.example']);
  });
});
