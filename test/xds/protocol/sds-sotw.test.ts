import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { bundleOf, makeCa, makeSvid, pki, FED, LATER, ORDERS, PAYMENTS, TD } from './fixtures.js';
import { PATHS } from './client.js';
import { startHarness, ORDERS_NODE, PAYMENTS_NODE, type Harness } from './harness.js';
import { certPem, secretNames, secretsOf, validatorTrustDomains } from './helpers.js';
import { TYPE_SECRET } from '../../../src/xds/type-urls.js';

const node = { id: 'orders-1', cluster: 'orders' };

describe('SDS State-of-the-World (StreamSecrets)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test('each Secret is named exactly as requested, one per requested name, every one parsing strictly', async () => {
    const s = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    const names = [ORDERS, 'default', 'ROOTCA', `spiffe://${FED}`, 'ALL', 'ROOTCA'];
    s.send({ node, typeUrl: TYPE_SECRET, resourceNames: names });
    const r = await s.next();
    assert.equal(r.typeUrl, TYPE_SECRET);
    assert.deepEqual(await secretNames(r), [ORDERS, 'ALL', 'ROOTCA', 'default', `spiffe://${FED}`].sort());
    const byName = new Map((await secretsOf(r)).map((x) => [x.name, x]));
    const p = await pki();
    assert.equal(certPem(byName.get(ORDERS)!), p.orders.chain[0]!.toString());
    assert.equal(certPem(byName.get('default')!), p.orders.chain[0]!.toString(), 'default is the caller’s default identity');
    assert.deepEqual(validatorTrustDomains(byName.get('ALL')!), [TD, FED].sort(), 'ALL holds every trust domain, sorted');
    assert.deepEqual(validatorTrustDomains(byName.get('ROOTCA')!), [TD]);
    assert.deepEqual(validatorTrustDomains(byName.get(`spiffe://${FED}`)!), [FED]);
    s.end();
  });

  test('the node is cached from the first request; later requests may omit it', async () => {
    const s = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    s.send({ node: { id: 'plain-1', metadata: { disable_spiffe_cert_validation: true } }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
    const r1 = await s.next();
    s.send({ typeUrl: TYPE_SECRET, versionInfo: r1.versionInfo, responseNonce: r1.nonce, resourceNames: ['ROOTCA', 'ALL'] });
    const r2 = await s.next();
    const all = (await secretsOf(r2)).find((x) => x.name === 'ALL')!;
    assert.equal(validatorTrustDomains(all), undefined, 'metadata of the first request still applies: plain trusted_ca');
    assert.ok(h.xds.status().proxies.some((p) => p.nodeId === 'plain-1'));
    s.end();
  });

  test('names added arrive at once, even when the request carries the previous nonce and no error', async () => {
    const s = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    s.send({ node, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
    const r1 = await s.next();
    s.ack(r1, ['ROOTCA']);
    s.ack(r1, ['ROOTCA', ORDERS]);
    const r2 = await s.next();
    assert.deepEqual(await secretNames(r2), [ORDERS, 'ROOTCA'].sort());
    assert.notEqual(r2.nonce, r1.nonce);
    assert.notEqual(r2.versionInfo, r1.versionInfo);
    s.end();
  });

  test('an empty name list after a subscription unsubscribes: SDS is not a wildcard type', async () => {
    const s = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    s.send({ node, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
    const r1 = await s.next();
    s.ack(r1, []);
    const r2 = await s.next();
    assert.equal(r2.resources.length, 0, 'nothing is sent for an empty list');
    s.ack(r2, []);
    // A rotation of the bundle must not reach this stream; the probe's answer must be the next message.
    const p = await pki();
    const newCa = await makeCa(TD);
    h.store.setBundle(bundleOf(newCa, p.ca));
    s.ack(r2, [ORDERS]);
    const r3 = await s.next();
    assert.deepEqual(await secretNames(r3), [ORDERS]);
    h.store.setBundle(bundleOf(p.ca));
    s.end();
  });

  test('a request with a stale nonce gets no response and its names are not taken', async () => {
    const s = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    s.send({ node, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
    const r1 = await s.next();
    s.ack(r1, ['ROOTCA', ORDERS]);
    const r2 = await s.next();
    s.ack(r1, ['ROOTCA', ORDERS, `spiffe://${FED}`]); // stale: answers r1, not r2
    s.ack(r2, ['ROOTCA', ORDERS, 'ALL']);
    const r3 = await s.next();
    assert.deepEqual(await secretNames(r3), [ORDERS, 'ALL', 'ROOTCA'].sort());
    s.end();
  });

  test('NACK is told by error_detail alone, its message is kept, and nothing is resent until content changes', async () => {
    const s = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    s.send({ node: { id: 'nacker', cluster: 'orders' }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
    const r1 = await s.next();
    const nacksBefore = h.metrics.get('nacked:Secret');
    // gRPC's client sends the NEW version with error_detail when only part of a response was bad.
    s.send({ typeUrl: TYPE_SECRET, versionInfo: r1.versionInfo, responseNonce: r1.nonce, resourceNames: ['ROOTCA'], errorDetail: { code: 3, message: 'bad trust bundle' } });
    s.send({ typeUrl: TYPE_SECRET, versionInfo: '', responseNonce: r1.nonce, resourceNames: ['ROOTCA', ORDERS] });
    const r2 = await s.next();
    assert.deepEqual(await secretNames(r2), [ORDERS, 'ROOTCA'].sort(), 'no resend of the NACKed response came first');
    assert.equal(h.metrics.get('nacked:Secret'), nacksBefore + 1);
    const t = h.xds.status().proxies.find((p) => p.nodeId === 'nacker')!.types.find((x) => x.typeUrl === TYPE_SECRET)!;
    assert.equal(t.lastNack?.message, 'bad trust bundle');
    assert.equal(t.lastNack?.nonce, r1.nonce);
    assert.ok(h.logs.some((l) => l.level === 'warn' && l.obj['error'] === 'bad trust bundle'));
    // NACK r2 too; a content change (bundle rotation) is sent again.
    s.nack(r2, ['ROOTCA', ORDERS], 'still bad');
    const p = await pki();
    h.store.setBundle(bundleOf(await makeCa(TD), p.ca));
    const r3 = await s.next();
    assert.notEqual(r3.versionInfo, r2.versionInfo);
    assert.deepEqual(await secretNames(r3), [ORDERS, 'ROOTCA'].sort());
    h.store.setBundle(bundleOf(p.ca));
    await s.next();
    s.end();
  });

  test('a name that does not exist yet is remembered and pushed when it appears', async () => {
    const s = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    s.send({ node, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA', LATER] });
    const r1 = await s.next();
    assert.deepEqual(await secretNames(r1), ['ROOTCA']);
    s.ack(r1, ['ROOTCA', LATER]);
    h.store.setSvid((await pki()).later);
    const r2 = await s.next();
    assert.deepEqual(await secretNames(r2), [LATER, 'ROOTCA'].sort());
    h.store.removeSvid(LATER);
    const r3 = await s.next();
    assert.deepEqual(await secretNames(r3), ['ROOTCA'], 'a removed SVID leaves the response');
    s.end();
  });

  test('rotation pushes only to subscribed streams, under the same name, with a new version', async () => {
    const a = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    const b = h.client.sotw(PATHS.StreamSecrets, PAYMENTS_NODE);
    a.send({ node, typeUrl: TYPE_SECRET, resourceNames: [ORDERS] });
    b.send({ node: { id: 'payments-1' }, typeUrl: TYPE_SECRET, resourceNames: [PAYMENTS] });
    const a1 = await a.next();
    const b1 = await b.next();
    a.ack(a1, [ORDERS]);
    b.ack(b1, [PAYMENTS]);
    const p = await pki();
    const rotated = await makeSvid(p.ca, ORDERS);
    h.store.setSvid(rotated);
    const a2 = await a.next();
    assert.deepEqual(await secretNames(a2), [ORDERS]);
    assert.equal(certPem((await secretsOf(a2))[0]!), rotated.chain[0]!.toString());
    assert.notEqual(a2.versionInfo, a1.versionInfo);
    b.ack(b1, [PAYMENTS, 'ROOTCA']);
    const b2 = await b.next();
    assert.deepEqual(await secretNames(b2), [PAYMENTS, 'ROOTCA'].sort(), 'the payments stream saw no push for the orders rotation');
    h.store.setSvid(p.orders);
    await a.next();
    a.end();
    b.end();
  });

  test('versions come from content: a reconnect holding the current version gets no response', async () => {
    const s1 = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    s1.send({ node, typeUrl: TYPE_SECRET, resourceNames: [ORDERS, 'ROOTCA'] });
    const r1 = await s1.next();
    s1.end();
    const s2 = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    s2.send({ node, typeUrl: TYPE_SECRET, resourceNames: [ORDERS, 'ROOTCA'] });
    const fresh = await s2.next();
    assert.equal(fresh.versionInfo, r1.versionInfo, 'same content, same version on another stream');
    s2.end();
    const s3 = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    s3.send({ node, typeUrl: TYPE_SECRET, versionInfo: r1.versionInfo, resourceNames: [ORDERS, 'ROOTCA'] });
    s3.send({ typeUrl: TYPE_SECRET, versionInfo: r1.versionInfo, resourceNames: [ORDERS, 'ROOTCA', 'ALL'] });
    const r3 = await s3.next();
    assert.deepEqual(await secretNames(r3), [ORDERS, 'ALL', 'ROOTCA'].sort(), 'the first answer is to the probe, not a resend');
    s3.end();
  });

  test('nonces are unique per response on a stream', async () => {
    const s = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    const nonces = new Set<string>();
    let names = ['ROOTCA'];
    s.send({ node, typeUrl: TYPE_SECRET, resourceNames: names });
    for (const add of [ORDERS, 'ALL', `spiffe://${FED}`, 'default']) {
      const r = await s.next();
      nonces.add(r.nonce);
      names = [...names, add];
      s.ack(r, names);
    }
    nonces.add((await s.next()).nonce);
    assert.equal(nonces.size, 5);
    s.end();
  });

  test('FetchSecrets answers with the requested names', async () => {
    const r = await h.client.fetchSecrets({ node, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA', ORDERS, PAYMENTS] }, ORDERS_NODE);
    assert.deepEqual(await secretNames(r), [ORDERS, 'ROOTCA'].sort(), 'PAYMENTS is not the caller’s: left out');
  });
});
