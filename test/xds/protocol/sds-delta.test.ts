import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { bundleOf, makeCa, pki, FED, LATER, ORDERS, TD } from './fixtures.js';
import { PATHS } from './client.js';
import { startHarness, ORDERS_NODE, type Harness } from './harness.js';
import { deltaNames, secretsOf, validatorTrustDomains } from './helpers.js';
import { TYPE_SECRET } from '../../../src/xds/type-urls.js';

const node = { id: 'orders-1', cluster: 'orders' };

describe('SDS Delta (DeltaSecrets)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test('subscribed secrets arrive named as requested; a name that does not exist is reported in removed_resources once', async () => {
    const s = h.client.delta(PATHS.DeltaSecrets, ORDERS_NODE);
    s.send({ node, typeUrl: TYPE_SECRET, resourceNamesSubscribe: ['ROOTCA', ORDERS, LATER] });
    const r1 = await s.next();
    assert.deepEqual(deltaNames(r1), [ORDERS, 'ROOTCA'].sort());
    assert.deepEqual(r1.removedResources, [LATER]);
    assert.deepEqual((await secretsOf(r1)).map((x) => x.name).sort(), [ORDERS, 'ROOTCA'].sort());
    assert.ok(r1.resources.every((r) => r.version.length > 0));
    s.ack(r1);
    h.store.setSvid((await pki()).later);
    const r2 = await s.next();
    assert.deepEqual(deltaNames(r2), [LATER], 'only the new resource, pushed when it appears');
    assert.deepEqual(r2.removedResources, []);
    s.ack(r2);
    h.store.removeSvid(LATER);
    const r3 = await s.next();
    assert.deepEqual(r3.removedResources, [LATER]);
    s.end();
  });

  test('the node is cached from the first request', async () => {
    const s = h.client.delta(PATHS.DeltaSecrets, ORDERS_NODE);
    s.send({ node: { id: 'plain-d', metadata: { disable_spiffe_cert_validation: 'true' } }, typeUrl: TYPE_SECRET, resourceNamesSubscribe: ['ROOTCA'] });
    const r1 = await s.next();
    s.ack(r1, { resourceNamesSubscribe: ['ALL'] });
    const r2 = await s.next();
    assert.deepEqual(deltaNames(r2), ['ALL']);
    assert.equal(validatorTrustDomains((await secretsOf(r2))[0]!), undefined);
    s.end();
  });

  test('subscription changes are honoured whatever the nonce', async () => {
    const s = h.client.delta(PATHS.DeltaSecrets, ORDERS_NODE);
    s.send({ node, typeUrl: TYPE_SECRET, resourceNamesSubscribe: ['ROOTCA'] });
    await s.next();
    s.send({ typeUrl: TYPE_SECRET, responseNonce: 'not-a-nonce-of-this-stream', resourceNamesSubscribe: [ORDERS] });
    const r2 = await s.next();
    assert.deepEqual(deltaNames(r2), [ORDERS]);
    s.end();
  });

  test('initial_resource_versions are honoured on reconnect: only what differs is sent', async () => {
    const s1 = h.client.delta(PATHS.DeltaSecrets, ORDERS_NODE);
    s1.send({ node, typeUrl: TYPE_SECRET, resourceNamesSubscribe: ['ROOTCA', ORDERS] });
    const r1 = await s1.next();
    s1.end();
    const held = Object.fromEntries(r1.resources.map((r) => [r.name, r.version]));
    const s2 = h.client.delta(PATHS.DeltaSecrets, ORDERS_NODE);
    s2.send({
      node,
      typeUrl: TYPE_SECRET,
      resourceNamesSubscribe: ['ROOTCA', ORDERS, `spiffe://${FED}`, 'spiffe://gone.example'],
      initialResourceVersions: { ...held, ROOTCA: 'outdated', 'spiffe://gone.example': 'v0' },
    });
    const r2 = await s2.next();
    assert.deepEqual(deltaNames(r2), ['ROOTCA', `spiffe://${FED}`].sort(), 'ORDERS is current and not resent');
    assert.deepEqual(r2.removedResources, ['spiffe://gone.example']);
    s2.end();
  });

  test('a reconnect holding every current version gets nothing, and the proxy status still shows what it holds', async () => {
    const s1 = h.client.delta(PATHS.DeltaSecrets, ORDERS_NODE);
    s1.send({ node: { id: 'held-1', cluster: 'orders' }, typeUrl: TYPE_SECRET, resourceNamesSubscribe: [ORDERS] });
    const r1 = await s1.next();
    s1.end();
    const s2 = h.client.delta(PATHS.DeltaSecrets, ORDERS_NODE);
    s2.send({ node: { id: 'held-2', cluster: 'orders' }, typeUrl: TYPE_SECRET, resourceNamesSubscribe: [ORDERS], initialResourceVersions: { [ORDERS]: r1.resources[0]!.version } });
    // A probe on another name proves the first request was handled without a response.
    s2.send({ typeUrl: TYPE_SECRET, resourceNamesSubscribe: ['ROOTCA'] });
    const r2 = await s2.next();
    assert.deepEqual(deltaNames(r2), ['ROOTCA'], 'nothing was resent for the held SVID');
    const proxy = h.xds.status().proxies.find((p) => p.nodeId === 'held-2')!;
    const secret = proxy.types.find((t) => t.typeUrl === TYPE_SECRET)!.resources.find((r) => r.name === ORDERS)!;
    assert.equal(secret.state, 'ACKED');
    assert.equal(secret.version, r1.resources[0]!.version);
    s2.end();
  });

  test('unsubscribed names get no pushes; resubscribing sends them again', async () => {
    const s = h.client.delta(PATHS.DeltaSecrets, ORDERS_NODE);
    s.send({ node, typeUrl: TYPE_SECRET, resourceNamesSubscribe: ['ROOTCA', ORDERS] });
    const r1 = await s.next();
    s.ack(r1, { resourceNamesUnsubscribe: ['ROOTCA'], resourceNamesSubscribe: ['spiffe://absent.example'] });
    assert.deepEqual((await s.next()).removedResources, ['spiffe://absent.example'], 'the unsubscribe was processed');
    const p = await pki();
    h.store.setBundle(bundleOf(await makeCa(TD), p.ca));
    s.send({ typeUrl: TYPE_SECRET, resourceNamesSubscribe: [`spiffe://${FED}`] });
    const r2 = await s.next();
    assert.deepEqual(deltaNames(r2), [`spiffe://${FED}`], 'the probe is answered first: no push for the unsubscribed ROOTCA');
    s.send({ typeUrl: TYPE_SECRET, resourceNamesSubscribe: ['ROOTCA'] });
    const r3 = await s.next();
    assert.deepEqual(deltaNames(r3), ['ROOTCA']);
    h.store.setBundle(bundleOf(p.ca));
    const r4 = await s.next();
    assert.deepEqual(deltaNames(r4), ['ROOTCA'], 'a rotation pushes only the changed resource');
    s.end();
  });

  test('a NACK is kept and the NACKed version is not resent until its content changes', async () => {
    const s = h.client.delta(PATHS.DeltaSecrets, ORDERS_NODE);
    s.send({ node: { id: 'delta-nacker' }, typeUrl: TYPE_SECRET, resourceNamesSubscribe: ['ROOTCA'] });
    const r1 = await s.next();
    s.send({ typeUrl: TYPE_SECRET, responseNonce: r1.nonce, errorDetail: { code: 3, message: 'rejected ROOTCA' } });
    s.send({ typeUrl: TYPE_SECRET, resourceNamesSubscribe: [ORDERS] });
    const r2 = await s.next();
    assert.deepEqual(deltaNames(r2), [ORDERS], 'no resend of ROOTCA');
    const t = h.xds.status().proxies.find((p) => p.nodeId === 'delta-nacker')!.types[0]!;
    assert.equal(t.resources.find((r) => r.name === 'ROOTCA')?.state, 'NACKED');
    assert.equal(t.resources.find((r) => r.name === 'ROOTCA')?.error, 'rejected ROOTCA');
    const p = await pki();
    h.store.setBundle(bundleOf(await makeCa(TD), p.ca));
    const r3 = await s.next();
    assert.deepEqual(deltaNames(r3), ['ROOTCA']);
    h.store.setBundle(bundleOf(p.ca));
    await s.next();
    s.end();
  });

  test('nonces are unique per response', async () => {
    const s = h.client.delta(PATHS.DeltaSecrets, ORDERS_NODE);
    s.send({ node, typeUrl: TYPE_SECRET, resourceNamesSubscribe: ['ROOTCA'] });
    const seen = new Set<string>();
    for (const n of [ORDERS, 'ALL', `spiffe://${FED}`]) {
      const r = await s.next();
      seen.add(r.nonce);
      s.ack(r, { resourceNamesSubscribe: [n] });
    }
    seen.add((await s.next()).nonce);
    assert.equal(seen.size, 4);
    s.end();
  });
});
