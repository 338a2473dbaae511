// The pure rules of federation: refresh bounds and backoff (schedule.ts), the publication sequence
// (published-bundle.ts), and what a fetched document must satisfy (accept.ts).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptBundle } from '../../src/federation/accept.js';
import { FederationError } from '../../src/federation/errors.js';
import { nextSequence, publication } from '../../src/federation/published-bundle.js';
import { MAX_REFRESH_MS, MIN_REFRESH_MS, refreshIntervalMs, retryDelayMs } from '../../src/federation/schedule.js';
import { parseBundleEndpointUrl } from '../../src/federation/endpoint-url.js';
import { X509Bundle } from '../../src/spiffe/bundle.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { issueSvid, makeCa, type FixtureCa } from '../xds/transport/fixture-ca.js';

const TD = TrustDomain.parse('alpha.test');

describe('refresh schedule', () => {
  test('the hint, bounded to [30 s, 1 h]; 5 minutes without one', () => {
    assert.equal(refreshIntervalMs(undefined), 300_000);
    assert.equal(refreshIntervalMs(0), 300_000);
    assert.equal(refreshIntervalMs(1), MIN_REFRESH_MS);
    assert.equal(refreshIntervalMs(90), 90_000);
    assert.equal(refreshIntervalMs(86_400 * 30), MAX_REFRESH_MS);
    assert.deepEqual([MIN_REFRESH_MS, MAX_REFRESH_MS], [30_000, 3_600_000]);
  });

  test('retries double from 5 s up to the interval, each drawn from the upper half', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 40].map((n) => retryDelayMs(n, 60_000, () => 1));
    assert.deepEqual(ceilings, [5_000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000]);
    assert.deepEqual([1, 2, 3].map((n) => retryDelayMs(n, 60_000, () => 0)), [2_500, 5_000, 10_000]);
    assert.equal(retryDelayMs(3, 8_000, () => 1), 8_000, 'never beyond the refresh interval');
  });
});

describe('bundle endpoint URL', () => {
  for (const [url, ok] of [
    ['https://bundle.example.org/', true],
    ['https://10.0.0.1:8443/td/bundle.json', true],
    ['https://[::1]:8443/', true],
    ['http://bundle.example.org/', false],
    ['https://u@bundle.example.org/', false],
    ['https://bundle.example.org/#frag', false],
    ['bundle.example.org', false],
  ] as const) {
    test(`${url}: ${ok ? 'accepted' : 'refused'}`, () => assert.equal('url' in parseBundleEndpointUrl(url), ok));
  }
});

describe('publication sequence', () => {
  let a: FixtureCa;
  let b: FixtureCa;
  before(async () => {
    [a, b] = await Promise.all([makeCa('alpha.test', Date.now()), makeCa('alpha.test', Date.now())]);
  });

  test('unchanged contents keep the number; changed contents (or hint) take the next; never below the source\'s', () => {
    const one = new X509Bundle(TD, [a.cert], { sequence: 1 });
    const p1 = publication(one, 300, undefined);
    assert.equal(p1.sequence, 1);
    assert.equal(publication(one, 300, p1).sequence, 1);
    assert.equal(publication(new X509Bundle(TD, [a.cert, b.cert], { sequence: 2 }), 300, p1).sequence, 2);
    assert.equal(publication(one, 600, p1).sequence, 2, 'a new hint is a new document');
    assert.equal(nextSequence({ sequence: 4, digest: 'x', refreshHintSeconds: 300 }, 'y', 9), 9);
    assert.equal(nextSequence({ sequence: 4, digest: 'x', refreshHintSeconds: 300 }, 'y', 2), 5);
  });

  test('the order of authorities does not change the bytes', () => {
    const ab = publication(new X509Bundle(TD, [a.cert, b.cert]), 300, undefined);
    const ba = publication(new X509Bundle(TD, [b.cert, a.cert]), 300, undefined);
    assert.equal(ab.body, ba.body);
  });
});

describe('accepting a fetched document', () => {
  let a: FixtureCa;
  let b: FixtureCa;
  let other: FixtureCa;
  before(async () => {
    [a, b, other] = await Promise.all([makeCa('alpha.test', Date.now()), makeCa('alpha.test', Date.now()), makeCa('other.test', Date.now())]);
  });
  const doc = (cas: FixtureCa[], sequence?: number) => new X509Bundle(TD, cas.map((c) => c.cert), sequence === undefined ? {} : { sequence }).toSpiffeJson();
  const now = new Date();
  const refused = (f: () => unknown, reason: string) =>
    assert.throws(f, (e: unknown) => e instanceof FederationError && e.reason === reason && e.code === `FEDERATION_${reason.toUpperCase()}`);

  test('a newer sequence is accepted; the same one with the same contents is no change', () => {
    const held = new X509Bundle(TD, [a.cert], { sequence: 3 });
    assert.equal(acceptBundle(TD, doc([a, b], 4), held, { from: 'u', now }).changed, true);
    assert.equal(acceptBundle(TD, doc([a], 3), held, { from: 'u', now }).changed, false);
    assert.equal(acceptBundle(TD, doc([b]), held, { from: 'u', now }).changed, true, 'no sequence: the latest is the freshest (§4.2)');
  });

  test('refusals', async () => {
    const held = new X509Bundle(TD, [a.cert], { sequence: 3 });
    refused(() => acceptBundle(TD, doc([a], 2), held, { from: 'u', now }), 'sequence_regression');
    assert.equal(acceptBundle(TD, doc([b], 2), held, { from: 'u', now, heldIsLocal: true }).changed, true, 'a local update does not hold the endpoint back');
    refused(() => acceptBundle(TD, doc([b], 3), held, { from: 'u', now }), 'sequence_regression');
    refused(() => acceptBundle(TD, doc([other], 9), held, { from: 'u', now }), 'wrong_trust_domain');
    refused(() => acceptBundle(TD, '{"keys": []}', held, { from: 'u', now }), 'no_authorities');
    refused(() => acceptBundle(TD, 'nope', held, { from: 'u', now }), 'malformed_json');
    refused(() => acceptBundle(TD, '{"keys": [{"kty": "EC", "use": "x509-svid"}]}', held, { from: 'u', now }), 'invalid_bundle');
    // A key without "use" is ignored (bundle spec §4.2.2), so a document of such keys holds no authority.
    refused(() => acceptBundle(TD, '{"keys": [{"kty": "EC"}]}', held, { from: 'u', now }), 'no_authorities');
    const endpointSvid = await issueSvid(a, 'spiffe://alpha.test/trustplane/server', Date.now());
    refused(() => acceptBundle(TD, doc([b], 9), held, { from: 'u', now, selfServingChain: endpointSvid.chain }), 'wrong_trust_domain');
    assert.equal(acceptBundle(TD, doc([a, b], 9), held, { from: 'u', now, selfServingChain: endpointSvid.chain }).changed, true);
  });
});
