// Issue 12: every way a bundle endpoint can fail is refused with a clear reason, the last good bundle is kept (in the
// identity store and on disk) and nothing is pushed to proxies; the held bundle survives a restart with the endpoint
// down. The endpoint is staged by the test over real HTTPS; the fetching side is a real control plane with a real
// SDS stream subscribed to ALL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { X509Bundle } from '../../src/spiffe/bundle.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import type { FetchFailureReason } from '../../src/federation/errors.js';
import type { SdsAgent } from '../e2e/sds-agent.js';
import { issueSvid, makeCa, type FixtureCa } from '../xds/transport/fixture-ca.js';
import { FakeEndpoint } from './fake-endpoint.js';
import { agentOf, meshYaml, serverId, startDomain, tempDir, webPki, type Domain } from './fixtures.js';

const ALPHA = 'alpha.test';
const BETA = 'beta.test';
const DELTA = 'delta.test';
const TIMEOUT_MS = 10_000;

const doc = (certs: FixtureCa[], sequence: number, td = ALPHA): string =>
  new X509Bundle(TrustDomain.parse(td), certs.map((c) => c.cert), { sequence, refreshHintSeconds: 60 }).toSpiffeJson();
const pem = (svid: { chain: readonly { toString(): string }[]; privateKeyPem: string }) => ({ cert: svid.chain.map((c) => c.toString()).join(''), key: svid.privateKeyPem });

describe('federation: bundle endpoint failures', () => {
  const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000);
  let root: string;
  let alpha1: FixtureCa;
  let alpha2: FixtureCa;
  let gamma: FixtureCa;
  let endpoint: FakeEndpoint;
  let webEndpoint: FakeEndpoint;
  let b: Domain;
  let agent: SdsAgent;
  let good: string;
  let meshText: string;
  const closers: (() => unknown)[] = [];

  const status = (td = ALPHA) => b.cp.federation.status().find((d) => d.trustDomain === td)!;
  const persistedFile = () => join(b.dir, 'data', 'federation', `${ALPHA}.bundle.json`);
  const errorCount = async (reason: string, td = ALPHA): Promise<number> => {
    const m = await b.cp.metrics.registry.getSingleMetric('trustplane_federation_refresh_errors_total')!.get();
    return m.values.find((v) => v.labels['reason'] === reason && v.labels['trust_domain'] === td)?.value ?? 0;
  };

  before(async () => {
    root = tempDir('tp-fed-fail-');
    const now = Date.now();
    [alpha1, alpha2, gamma] = await Promise.all([makeCa(ALPHA, now), makeCa(ALPHA, now), makeCa('gamma.test', now)]);
    endpoint = new FakeEndpoint(pem(await issueSvid(alpha1, serverId(ALPHA), now)));
    await endpoint.start();
    good = doc([alpha1, alpha2], 2);
    endpoint.serve(good);
    // An https_web endpoint whose certificate names localhost only, while the URL says 127.0.0.1.
    const pki = await webPki();
    const wrongHost = await pki.issue({ dns: ['localhost'] });
    webEndpoint = new FakeEndpoint({ cert: wrongHost.certPem, key: wrongHost.keyPem });
    await webEndpoint.start();
    webEndpoint.serve(doc([gamma], 1, DELTA));
    writeFileSync(join(root, 'alpha-bootstrap.json'), doc([alpha1], 1));
    meshText = meshYaml(BETA, 'backend', [
      { trustDomain: ALPHA, bundleFile: join(root, 'alpha-bootstrap.json'), bundleEndpoint: { url: endpoint.url, profile: 'https_spiffe', endpointSpiffeId: serverId(ALPHA) } },
      { trustDomain: DELTA, bundleEndpoint: { url: webEndpoint.url, profile: 'https_web' } },
    ]);
    b = await startDomain({ td: BETA, service: 'backend', dir: join(root, 'beta'), clock, client: { webCa: pki.caPem } });
    writeFileSync(b.meshFile, meshText);
    assert.deepEqual(b.cp.reload(), { ok: true, problems: [] });
    await b.cp.federation.refresher(ALPHA)!.refreshNow();
    await b.cp.federation.refresher(DELTA)!.refreshNow();
    agent = agentOf(b, 'backend');
    await agent.waitFor('alpha sequence 2 with two CAs', (m) => m?.bundles.find((x) => x.trustDomain.name === ALPHA)?.x509Authorities.length === 2);
    closers.push(() => agent.close(), () => b.cp.close(), () => endpoint.stop(), () => webEndpoint.stop());
  });
  after(async () => {
    for (const c of closers.reverse()) await c();
    rmSync(root, { recursive: true, force: true });
  });

  test('the good document was accepted, persisted 0600 and pushed', () => {
    const st = status();
    assert.equal(st.sequence, 2);
    assert.equal(st.endpoint?.heldFrom, 'endpoint');
    assert.equal(st.endpoint?.lastError, undefined);
    assert.equal(statSync(persistedFile()).mode & 0o777, 0o600);
    assert.equal((JSON.parse(readFileSync(persistedFile(), 'utf8')) as { document: string }).document, good);
  });

  test('https_web: a certificate for another host is refused (tls), and no bundle is made up', async () => {
    const st = status(DELTA);
    assert.equal(st.endpoint?.lastError?.reason, 'tls');
    assert.match(st.endpoint!.lastError!.message, /Web PKI check .*ERR_TLS_CERT_ALTNAME_INVALID/);
    assert.equal(b.cp.store.getBundle(DELTA), undefined);
    assert.equal(agent.material?.bundles.some((x) => x.trustDomain.name === DELTA), false);
    assert.ok((await errorCount('tls', DELTA)) >= 1);
  });

  const cases: { name: string; reason: FetchFailureReason; message: RegExp; stage: () => Promise<void> | void; restore?: () => Promise<void> | void; refresh?: () => Promise<void> }[] = [
    { name: 'endpoint down', reason: 'unreachable', message: /cannot connect \(ECONNREFUSED\)/, stage: () => endpoint.stop(), restore: () => endpoint.start() },
    {
      name: 'endpoint too slow',
      reason: 'timeout',
      message: new RegExp(`no complete answer within ${TIMEOUT_MS} ms`),
      stage: () => {
        endpoint.handler = () => {}; // never answers
      },
      // The request reaches the endpoint, then the clock passes the fetch timeout.
      refresh: async () => {
        const arrived = new Promise<void>((resolve) => (endpoint.onRequest = resolve));
        const done = b.cp.federation.refresher(ALPHA)!.refreshNow();
        await arrived;
        endpoint.onRequest = undefined;
        clock.advance(TIMEOUT_MS);
        await done;
      },
    },
    { name: 'TLS with the wrong SPIFFE ID', reason: 'endpoint_identity', message: /presented an SVID for spiffe:\/\/alpha\.test\/ns\/other, not the configured spiffe:\/\/alpha\.test\/trustplane\/server/, stage: async () => endpoint.present(pem(await issueSvid(alpha1, `spiffe://${ALPHA}/ns/other`, Date.now()))) },
    { name: 'TLS with an SVID from another trust domain\'s CA', reason: 'endpoint_identity', message: /does not verify against the endpoint trust domain's bundle/, stage: async () => endpoint.present(pem(await issueSvid(gamma, serverId(ALPHA), Date.now()))) },
    { name: 'a document for another trust domain', reason: 'wrong_trust_domain', message: /authority 0 belongs to spiffe:\/\/gamma\.test, not to trust domain alpha\.test/, stage: () => endpoint.serve(doc([gamma], 7, 'gamma.test')) },
    { name: 'a document that does not authenticate its own endpoint', reason: 'wrong_trust_domain', message: /does not authenticate the endpoint's own SVID/, stage: () => endpoint.serve(doc([alpha2], 8)) },
    { name: 'a sequence regression', reason: 'sequence_regression', message: /spiffe_sequence 1 is lower than the 2 held/, stage: () => endpoint.serve(doc([alpha1], 1)) },
    { name: 'the same sequence with other contents', reason: 'sequence_regression', message: /spiffe_sequence 2 is the one held .* but the authorities differ/, stage: () => endpoint.serve(doc([alpha1], 2)) },
    { name: 'malformed JSON', reason: 'malformed_json', message: /not a JSON document \(syntax error at character \d+\)/, stage: () => endpoint.serve('{"keys": [{"use": "x509-svid",') },
    {
      name: 'a key that fails the bundle format\'s checks (two certificates in x5c)',
      reason: 'invalid_bundle',
      message: /key 0: "x5c" must hold exactly one certificate, got 2 certificates/,
      stage: () => {
        const d = JSON.parse(doc([alpha1], 9)) as { keys: { x5c: string[] }[] };
        d.keys[0]!.x5c.push(d.keys[0]!.x5c[0]!);
        endpoint.serve(JSON.stringify(d));
      },
    },
    { name: 'a bundle without authorities', reason: 'no_authorities', message: /holds no x509-svid authority/, stage: () => endpoint.serve('{"keys": [], "spiffe_sequence": 10}') },
    {
      name: 'a 10 MB body streamed without a length',
      reason: 'too_large',
      message: /the body exceeds 1048576 bytes/,
      stage: () => {
        endpoint.handler = (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          const chunk = Buffer.alloc(64 * 1024, 0x20);
          let sent = 0;
          const pump = (): void => {
            while (sent < 10 * 1024 * 1024) {
              sent += chunk.length;
              if (!res.write(chunk)) return void res.once('drain', pump);
            }
            res.end();
          };
          res.on('error', () => {});
          pump();
        };
      },
    },
    { name: 'a 10 MB body announced by content-length', reason: 'too_large', message: /the body is 10485760 bytes; at most 1048576 are accepted/, stage: () => {
        endpoint.handler = (_req, res) => {
          res.on('error', () => {});
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': 10 * 1024 * 1024 }).end(' '.repeat(10 * 1024 * 1024));
        };
      },
    },
    { name: 'an HTTP error status', reason: 'http_status', message: /HTTP 500/, stage: () => {
        endpoint.handler = (_req, res) => void res.writeHead(500).end();
      },
    },
    { name: 'a redirect to plain http', reason: 'redirect', message: /redirect to an invalid bundle endpoint URL .*the scheme must be https/, stage: () => {
        endpoint.handler = (_req, res) => void res.writeHead(302, { location: 'http://127.0.0.1:1/bundle' }).end();
      },
    },
  ];

  for (const c of cases) {
    test(`${c.name}: refused (${c.reason}), the last good bundle kept, nothing pushed`, async () => {
      const versionBefore = b.cp.store.bundleVersion(ALPHA);
      const pushesBefore = agent.responses.length;
      const persistedBefore = readFileSync(persistedFile(), 'utf8');
      const errorsBefore = await errorCount(c.reason);
      const lastRefreshBefore = status().endpoint?.lastRefresh;
      const storeChanges: string[] = [];
      const unsubscribe = b.cp.store.subscribe((ch) => storeChanges.push(...ch.bundles));
      await c.stage();
      try {
        await (c.refresh ? c.refresh() : b.cp.federation.refresher(ALPHA)!.refreshNow());
        const st = status();
        assert.equal(st.endpoint?.lastError?.reason, c.reason, st.endpoint?.lastError?.message);
        assert.match(st.endpoint!.lastError!.message, c.message);
        assert.equal(st.endpoint!.lastError!.message.includes('\n'), false, 'one line');
        assert.equal(st.sequence, 2);
        assert.equal(st.endpoint?.lastRefresh, lastRefreshBefore, 'a refused fetch is not a refresh');
        assert.ok(st.endpoint!.consecutiveFailures >= 1);
        assert.equal(b.cp.store.bundleVersion(ALPHA), versionBefore, 'the identity store keeps the last good bundle');
        assert.equal(readFileSync(persistedFile(), 'utf8'), persistedBefore, 'the persisted bundle is untouched');
        assert.deepEqual(storeChanges, [], 'no bundle changed in the identity store, so the xDS server had nothing to push');
        assert.equal(agent.responses.length, pushesBefore, 'nothing pushed');
        assert.equal(await errorCount(c.reason), errorsBefore + 1);
        assert.match(b.logText(), new RegExp(`"reason":"${c.reason}"`));
      } finally {
        unsubscribe();
        await c.restore?.();
        endpoint.present(pem(await issueSvid(alpha1, serverId(ALPHA), Date.now())));
        endpoint.serve(good);
      }
    });
  }

  test('a redirect to another valid URL is followed under the same SVID check', async () => {
    endpoint.handler = (req, res) => {
      if (req.url === '/moved/bundle.json') res.writeHead(200, { 'content-type': 'application/json' }).end(good);
      else res.writeHead(307, { location: '/moved/bundle.json' }).end();
    };
    const r = b.cp.federation.refresher(ALPHA)!;
    await r.refreshNow();
    assert.equal(r.status().lastError, undefined, r.status().lastError?.message);
    assert.equal(status().sequence, 2);
    assert.equal(r.status().url, endpoint.url, 'the configured URL stays the one fetched next time');
    endpoint.serve(good);
  });

  test('retries back off with jitter, never past the refresh interval', async () => {
    const r = b.cp.federation.refresher(ALPHA)!;
    await r.refreshNow();
    assert.equal(r.status().consecutiveFailures, 0);
    endpoint.handler = (_req, res) => void res.writeHead(503).end();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      await r.refreshNow();
      delays.push(Date.parse(r.status().nextRefresh!) - clock.now());
    }
    // random() is 0.5 in these control planes, so each delay is 3/4 of its ceiling: 5 s, 10 s, 20 s, 40 s, then
    // the 60 s refresh interval (the bundle's hint) caps it.
    assert.deepEqual(delays, [3_750, 7_500, 15_000, 30_000, 45_000, 45_000]);
    assert.equal(r.status().lastError?.reason, 'http_status');
    endpoint.serve(good);
    await r.refreshNow();
    assert.equal(r.status().consecutiveFailures, 0);
    assert.equal(r.status().lastError, undefined);
    assert.equal(Date.parse(r.status().nextRefresh!) - clock.now(), 60_000);
  });

  test('a restart with the endpoint down serves the persisted bundle; a later good document is pushed', async () => {
    const pushesBefore = agent.responses.length;
    agent.close();
    await b.cp.close();
    await endpoint.stop();
    b = await startDomain({ td: BETA, service: 'backend', dir: b.dir, clock });
    writeFileSync(b.meshFile, meshText);
    assert.deepEqual(b.cp.reload(), { ok: true, problems: [] });
    await b.cp.federation.refresher(ALPHA)!.refreshNow();
    const st = status();
    assert.equal(st.sequence, 2);
    assert.equal(st.authorities.length, 2);
    assert.equal(st.endpoint?.heldFrom, 'persisted');
    assert.equal(st.endpoint?.lastError?.reason, 'unreachable');
    agent = agentOf(b, 'backend');
    await agent.waitFor('the persisted alpha bundle', (m) => m?.bundles.find((x) => x.trustDomain.name === ALPHA)?.x509Authorities.length === 2);
    assert.ok(pushesBefore > 0);
    // The endpoint comes back with a rotation (alpha1 dropped): the next refresh pushes it.
    await endpoint.start();
    endpoint.present(pem(await issueSvid(alpha2, serverId(ALPHA), Date.now())));
    endpoint.serve(doc([alpha2], 3));
    const seen = agent.responses.length;
    clock.advance(Date.parse(status().endpoint!.nextRefresh!) - clock.now());
    await agent.waitFor('alpha sequence 3', (m) => m?.bundles.find((x) => x.trustDomain.name === ALPHA)?.x509Authorities.length === 1);
    assert.equal(status().sequence, 3);
    assert.ok(agent.responses.length > seen);
  });

  test('an operator\'s local update (a bootstrap bundleFile with a higher sequence) is used until the next refresh replaces it', async () => {
    writeFileSync(join(root, 'alpha-bootstrap.json'), doc([alpha1, alpha2], 10));
    writeFileSync(b.meshFile, meshText);
    assert.deepEqual(b.cp.reload(), { ok: true, problems: [] });
    assert.equal(status().sequence, 10);
    assert.equal(status().endpoint?.heldFrom, 'bootstrap');
    await agent.waitFor('the local update', (m) => m?.bundles.find((x) => x.trustDomain.name === ALPHA)?.x509Authorities.length === 2);
    await b.cp.federation.refresher(ALPHA)!.refreshNow();
    assert.equal(status().endpoint?.lastError, undefined, status().endpoint?.lastError?.message);
    assert.equal(status().sequence, 3, 'the endpoint\'s document replaces the local update, whatever its sequence');
    assert.equal(status().endpoint?.heldFrom, 'endpoint');
    await agent.waitFor('alpha from the endpoint again', (m) => m?.bundles.find((x) => x.trustDomain.name === ALPHA)?.x509Authorities.length === 1);
  });

  test('a trust domain removed from the description leaves SDS and its local copy is deleted', async () => {
    writeFileSync(b.meshFile, meshYaml(BETA, 'backend', []));
    assert.deepEqual(b.cp.reload(), { ok: true, problems: [] });
    assert.equal(b.cp.store.getBundle(ALPHA), undefined);
    assert.equal(b.cp.federation.refresher(ALPHA), undefined);
    assert.throws(() => statSync(persistedFile()), /ENOENT/);
    await agent.waitFor('ALL without alpha', (m) => !!m && !m.bundles.some((x) => x.trustDomain.name === ALPHA));
    assert.deepEqual(b.cp.federation.status(), []);
    assert.doesNotMatch(await b.cp.metrics.registry.metrics(), /trustplane_federation_(last_refresh_timestamp_seconds|bundle_sequence)\{trust_domain="alpha\.test"\}/);
  });
});
