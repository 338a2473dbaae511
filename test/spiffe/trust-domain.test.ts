import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpiffeIdError, TrustDomain } from '../../src/spiffe/trust-domain.js';
import { throwsCode } from './assert-error.js';

describe('TrustDomain.parse accepts', () => {
  const cases: Array<[string, string, string]> = [
    ['a bare name', 'example.org', 'example.org'],
    ['the trust domain SPIFFE ID', 'spiffe://example.org', 'example.org'],
    ['digits, dots, dashes and underscores', 'prod_1-eu.example.org', 'prod_1-eu.example.org'],
    ['a single character', 'x', 'x'],
    ['exactly 255 characters', 'a'.repeat(255), 'a'.repeat(255)],
  ];
  for (const [name, input, want] of cases) {
    test(name, () => {
      const td = TrustDomain.parse(input);
      assert.equal(td.name, want);
      assert.equal(td.toString(), want);
      assert.equal(td.idString(), `spiffe://${want}`);
    });
  }
});

describe('TrustDomain.parse rejects', () => {
  const cases: Array<[string, string, string, number | undefined, ...string[]]> = [
    ['an empty string', '', 'EMPTY', 0],
    ['an upper-case letter, saying where and why', 'exAmple.org', 'BAD_TRUST_DOMAIN_CHAR', 2, 'invalid character "A" at index 2', 'accepted: a-z 0-9 . - _', 'upper case'],
    ['an upper-case letter in the ID form, indexed in the input', 'spiffe://exAmple.org', 'BAD_TRUST_DOMAIN_CHAR', 11, '"A" at index 11'],
    ['a space', 'exam ple.org', 'BAD_TRUST_DOMAIN_CHAR', 4, '" " at index 4'],
    ['a non-ASCII letter', 'exämple.org', 'BAD_TRUST_DOMAIN_CHAR', 2, '"ä"'],
    ['a slash in a bare name', 'example.org/ns', 'BAD_TRUST_DOMAIN_CHAR', 11],
    ['a port on a bare name', 'example.org:8443', 'HAS_PORT', 11, 'port'],
    ['a port in the ID form', 'spiffe://example.org:8443', 'HAS_PORT', 20],
    ['user info on a bare name', 'admin@example.org', 'HAS_USERINFO', 5],
    ['user info with password in the ID form', 'spiffe://u:p@example.org', 'HAS_USERINFO', 12],
    ['percent-encoding', 'ex%61mple.org', 'PERCENT_ENCODED', 2, 'percent-encoding is not allowed'],
    ['256 characters', 'a'.repeat(256), 'TRUST_DOMAIN_TOO_LONG', 0, '256 characters', 'at most 255'],
    ['a workload ID (with a path)', 'spiffe://example.org/ns/web', 'HAS_PATH', 20, 'not a trust domain'],
    ['the ID form with a trailing slash', 'spiffe://example.org/', 'TRAILING_SLASH', 20],
    ['the ID form without a name', 'spiffe://', 'MISSING_TRUST_DOMAIN', 9],
    ['another scheme', 'https://example.org', 'WRONG_SCHEME', 0, 'must start with "spiffe://"'],
    ['an upper-case scheme', 'SPIFFE://example.org', 'WRONG_SCHEME', 0, 'lower case'],
    ['a query', 'spiffe://example.org?x=1', 'HAS_QUERY', 20],
    ['a fragment', 'spiffe://example.org#top', 'HAS_FRAGMENT', 20],
  ];
  for (const [name, input, code, index, ...fragments] of cases) {
    test(`${name} (${code})`, () => {
      const err = throwsCode(() => TrustDomain.parse(input), SpiffeIdError, code, ...fragments);
      assert.equal(err.index, index);
    });
  }
});

describe('TrustDomain.equals', () => {
  test('is true for the same name however it was written', () => {
    assert.ok(TrustDomain.parse('example.org').equals(TrustDomain.parse('spiffe://example.org')));
  });
  test('is false for another name and for undefined', () => {
    assert.ok(!TrustDomain.parse('example.org').equals(TrustDomain.parse('example.com')));
    assert.ok(!TrustDomain.parse('example.org').equals(undefined));
  });
});
