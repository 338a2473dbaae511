import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpiffeId } from '../../src/spiffe/id.js';
import { matchAny, matchId, matchMemberOf, matchOneOf, type SpiffeIdMatcher } from '../../src/spiffe/matcher.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';

const id = (s: string): SpiffeId => SpiffeId.parse(s);
const web = 'spiffe://example.org/web';
const api = 'spiffe://example.org/api';
const foreignWeb = 'spiffe://partner.example/web';

const cases: Array<[string, SpiffeIdMatcher, string, boolean]> = [
  ['matchId: the same ID', matchId(id(web)), web, true],
  ['matchId: another path', matchId(id(web)), api, false],
  ['matchId: same path in another trust domain', matchId(id(web)), foreignWeb, false],
  ['matchId: a longer path', matchId(id(web)), `${web}/x`, false],
  ['matchOneOf: the first of the set', matchOneOf(id(web), id(api)), web, true],
  ['matchOneOf: the second of the set', matchOneOf(id(web), id(api)), api, true],
  ['matchOneOf: not in the set', matchOneOf(id(web), id(api)), foreignWeb, false],
  ['matchOneOf: an empty set matches nothing', matchOneOf(), web, false],
  ['matchMemberOf: a workload of the domain', matchMemberOf(TrustDomain.parse('example.org')), api, true],
  ['matchMemberOf: the trust domain ID itself', matchMemberOf(TrustDomain.parse('example.org')), 'spiffe://example.org', true],
  ['matchMemberOf: another domain', matchMemberOf(TrustDomain.parse('example.org')), foreignWeb, false],
  ['matchMemberOf: a subdomain is another trust domain', matchMemberOf(TrustDomain.parse('example.org')), 'spiffe://sub.example.org/web', false],
  ['matchAny: any ID', matchAny(), foreignWeb, true],
];

describe('SPIFFE ID matchers', () => {
  for (const [name, matcher, input, want] of cases) {
    test(`${name} -> ${want}`, () => assert.equal(matcher(id(input)), want));
  }
});
