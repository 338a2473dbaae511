import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpiffeId, SpiffeIdError } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { TrustplaneError } from '../../src/errors.js';
import { throwsCode } from './assert-error.js';

const MAX_PATH = 'spiffe://example.org/'.length;
const atLimit = `spiffe://example.org/${'a'.repeat(2048 - MAX_PATH)}`;

describe('SpiffeId.parse accepts and prints back', () => {
  const cases: Array<[string, string, string, string]> = [
    ['a trust domain ID (no path)', 'spiffe://example.org', 'example.org', ''],
    ['a Kubernetes-style workload ID', 'spiffe://cluster.local/ns/default/sa/web', 'cluster.local', '/ns/default/sa/web'],
    ['upper case, digits, dot, dash and underscore in the path', 'spiffe://example.org/Web-1_x.y/V2', 'example.org', '/Web-1_x.y/V2'],
    ['a segment of three dots (not a dot segment)', 'spiffe://example.org/...', 'example.org', '/...'],
    ['a segment that starts with dots', 'spiffe://example.org/..a/.b', 'example.org', '/..a/.b'],
    ['exactly 2048 bytes', atLimit, 'example.org', atLimit.slice(20)],
  ];
  for (const [name, input, td, path] of cases) {
    test(name, () => {
      const id = SpiffeId.parse(input);
      assert.equal(id.trustDomain.name, td);
      assert.equal(id.path, path);
      assert.equal(id.toString(), input);
      assert.equal(JSON.stringify({ id }), JSON.stringify({ id: input }));
    });
  }
});

describe('SpiffeId.parse rejects', () => {
  const cases: Array<[string, string, string, number | undefined, ...string[]]> = [
    ['an empty string', '', 'EMPTY', 0],
    ['a missing scheme', 'example.org/web', 'WRONG_SCHEME', 0, 'must start with "spiffe://"'],
    ['an http URI', 'http://example.org/web', 'WRONG_SCHEME', 0],
    ['a mixed-case scheme', 'Spiffe://example.org/web', 'WRONG_SCHEME', 0, 'lower case "spiffe"'],
    ['a single slash after the scheme', 'spiffe:/example.org/web', 'WRONG_SCHEME', 0],
    ['a missing trust domain', 'spiffe:///web', 'MISSING_TRUST_DOMAIN', 9],
    ['a scheme alone', 'spiffe://', 'MISSING_TRUST_DOMAIN', 9],
    ['upper case in the trust domain', 'spiffe://Example.org/web', 'BAD_TRUST_DOMAIN_CHAR', 9, 'invalid character "E" at index 9', 'upper case'],
    ['a bad trust domain character', 'spiffe://exa!mple.org/web', 'BAD_TRUST_DOMAIN_CHAR', 12, '"!"'],
    ['a port', 'spiffe://example.org:443/web', 'HAS_PORT', 20],
    ['an empty port', 'spiffe://example.org:/web', 'HAS_PORT', 20],
    ['user info', 'spiffe://me@example.org/web', 'HAS_USERINFO', 11],
    ['a query', 'spiffe://example.org/web?x=1', 'HAS_QUERY', 24],
    ['a fragment', 'spiffe://example.org/web#top', 'HAS_FRAGMENT', 24],
    ['a fragment that holds a "?"', 'spiffe://example.org/web#a?b', 'HAS_FRAGMENT', 24],
    ['a bare trailing slash', 'spiffe://example.org/', 'TRAILING_SLASH', 20],
    ['a trailing slash after a segment', 'spiffe://example.org/web/', 'TRAILING_SLASH', 24],
    ['an empty segment', 'spiffe://example.org//web', 'EMPTY_SEGMENT', 20],
    ['an empty segment in the middle', 'spiffe://example.org/ns//web', 'EMPTY_SEGMENT', 23],
    ['a "." segment', 'spiffe://example.org/ns/./web', 'DOT_SEGMENT', 24],
    ['a ".." segment', 'spiffe://example.org/ns/..', 'DOT_SEGMENT', 24],
    ['percent-encoding in the path', 'spiffe://example.org/w%65b', 'PERCENT_ENCODED', 22],
    ['a space in the path', 'spiffe://example.org/my web', 'BAD_PATH_SEGMENT_CHAR', 23, 'invalid character " " at index 23', 'accepted: a-z A-Z 0-9 . - _'],
    ['a plus in the path', 'spiffe://example.org/a+b', 'BAD_PATH_SEGMENT_CHAR', 22, '"+"'],
    ['a colon in the path', 'spiffe://example.org/a:b', 'BAD_PATH_SEGMENT_CHAR', 22],
    ['a non-ASCII letter in the path', 'spiffe://example.org/café', 'BAD_PATH_SEGMENT_CHAR', 24, '"é"'],
    ['a 256-character trust domain', `spiffe://${'a'.repeat(256)}/web`, 'TRUST_DOMAIN_TOO_LONG', 9, 'at most 255'],
    ['2049 bytes', `${atLimit}a`, 'TOO_LONG', undefined, '2049 bytes', 'at most 2048'],
    ['more than 2048 bytes in fewer than 2048 characters', `spiffe://example.org/${'é'.repeat(1100)}`, 'TOO_LONG', undefined],
  ];
  for (const [name, input, code, index, ...fragments] of cases) {
    test(`${name} (${code})`, () => {
      const err = throwsCode(() => SpiffeId.parse(input), SpiffeIdError, code, ...fragments);
      assert.ok(err instanceof TrustplaneError);
      assert.equal(err.index, index);
    });
  }
});

describe('SpiffeId.fromPath', () => {
  const td = TrustDomain.parse('example.org');
  test('builds the ID of a path', () => {
    const id = SpiffeId.fromPath(td, '/ns/default/sa/web');
    assert.equal(id.toString(), 'spiffe://example.org/ns/default/sa/web');
    assert.ok(id.equals(SpiffeId.parse('spiffe://example.org/ns/default/sa/web')));
  });
  test('builds the trust domain ID from an empty path', () => {
    assert.equal(SpiffeId.fromPath(td, '').toString(), 'spiffe://example.org');
  });
  const bad: Array<[string, string, string]> = [
    ['a path without a leading slash', 'ns/web', 'NO_LEADING_SLASH'],
    ['a trailing slash', '/ns/', 'TRAILING_SLASH'],
    ['an empty segment', '/ns//web', 'EMPTY_SEGMENT'],
    ['a dot segment', '/ns/../web', 'DOT_SEGMENT'],
    ['a query', '/web?x', 'HAS_QUERY'],
    ['a fragment', '/web#x', 'HAS_FRAGMENT'],
    ['percent-encoding', '/w%20b', 'PERCENT_ENCODED'],
    ['a bad character', '/w*b', 'BAD_PATH_SEGMENT_CHAR'],
    ['a path that makes the ID longer than 2048 bytes', `/${'a'.repeat(2048)}`, 'TOO_LONG'],
  ];
  for (const [name, path, code] of bad) {
    test(`rejects ${name} (${code})`, () => {
      throwsCode(() => SpiffeId.fromPath(td, path), SpiffeIdError, code);
    });
  }
});

describe('SpiffeId equality and membership', () => {
  const web = SpiffeId.parse('spiffe://example.org/web');
  const cases: Array<[string, boolean]> = [
    ['spiffe://example.org/web', true],
    ['spiffe://example.org/Web', false],
    ['spiffe://example.org/web/x', false],
    ['spiffe://example.com/web', false],
  ];
  for (const [other, want] of cases) {
    test(`${web} equals ${other}: ${want}`, () => assert.equal(web.equals(SpiffeId.parse(other)), want));
  }
  test('memberOf is true only for its own trust domain', () => {
    assert.ok(web.memberOf(TrustDomain.parse('example.org')));
    assert.ok(!web.memberOf(TrustDomain.parse('example.com')));
    assert.ok(!web.memberOf(TrustDomain.parse('sub.example.org')));
  });
});
