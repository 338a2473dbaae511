import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { ORDERS, PAYMENTS, pki } from './fixtures.js';
import { PATHS } from './client.js';
import { startHarness, ORDERS_NODE, PAYMENTS_NODE, type Harness } from './harness.js';
import { deltaNames, secretNames } from './helpers.js';
import { TYPE_SECRET } from '../../../src/xds/type-urls.js';

const keyBody = (pem: string): string => pem.replace(/-----[A-Z ]+-----|\s/g, '').slice(-60, -20); // the private scalar, not the PKCS#8 header all keys share

describe('who may fetch what', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  for (const path of [PATHS.StreamSecrets, PATHS.StreamAggregatedResources] as const) {
    test(`a ${path.split('/')[2]} call without a principal is refused with PERMISSION_DENIED`, async () => {
      const s = h.client.sotw(path);
      s.send({ node: { id: 'anon' }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
      assert.equal((await s.status).code, grpc.status.PERMISSION_DENIED);
      assert.equal(s.responses.length, 0);
    });
  }
  for (const path of [PATHS.DeltaSecrets, PATHS.DeltaAggregatedResources] as const) {
    test(`a ${path.split('/')[2]} call without a principal is refused with PERMISSION_DENIED`, async () => {
      const s = h.client.delta(path);
      s.send({ node: { id: 'anon' }, typeUrl: TYPE_SECRET, resourceNamesSubscribe: ['ROOTCA'] });
      assert.equal((await s.status).code, grpc.status.PERMISSION_DENIED);
    });
  }
  test('FetchSecrets and CSDS without a principal are refused', async () => {
    await assert.rejects(h.client.fetchSecrets({ typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] }), { code: grpc.status.PERMISSION_DENIED });
    await assert.rejects(h.client.fetchClientStatus({}), { code: grpc.status.PERMISSION_DENIED });
  });

  test('another node’s identity is left out, logged, counted and shown; every other name keeps flowing; no key leaks', async () => {
    const before = h.metrics.get('rejected:Secret:denied');
    const s = h.client.sotw(PATHS.StreamSecrets, PAYMENTS_NODE);
    s.send({ node: { id: 'payments-1' }, typeUrl: TYPE_SECRET, resourceNames: [ORDERS, PAYMENTS, 'ROOTCA'] });
    const r = await s.next();
    assert.deepEqual(await secretNames(r), [PAYMENTS, 'ROOTCA'].sort());
    const p = await pki();
    const all = JSON.stringify(h.logs) + JSON.stringify(h.xds.status());
    assert.ok(!Buffer.from(r.resources.flatMap((a) => [...a.value])).toString('latin1').includes(keyBody(p.orders.privateKeyPem)));
    assert.ok(!all.includes(keyBody(p.orders.privateKeyPem)) && !all.includes(keyBody(p.payments.privateKeyPem)), 'no key in logs or status');
    assert.equal(h.metrics.get('rejected:Secret:denied'), before + 1);
    assert.ok(h.logs.some((l) => l.level === 'warn' && (l.obj['sample'] as { name: string }[] | undefined)?.some((x) => x.name === ORDERS) && l.obj['principal'] === PAYMENTS_NODE));
    const res = h.xds.status().proxies.find((x) => x.nodeId === 'payments-1')!.types[0]!.resources.find((x) => x.name === ORDERS)!;
    assert.equal(res.state, 'DENIED');
    // still denied and counted once on later pushes
    s.ack(r, [ORDERS, PAYMENTS, 'ROOTCA', 'ALL']);
    await s.next();
    assert.equal(h.metrics.get('rejected:Secret:denied'), before + 1);
    s.end();
  });

  test('Delta: a denied or malformed name is reported removed and the stream stays open', async () => {
    const before = h.metrics.get('rejected:Secret:unknown');
    const s = h.client.delta(PATHS.DeltaSecrets, PAYMENTS_NODE);
    s.send({ node: { id: 'payments-1' }, typeUrl: TYPE_SECRET, resourceNamesSubscribe: [ORDERS, 'not a name', PAYMENTS] });
    const r = await s.next();
    assert.deepEqual(deltaNames(r), [PAYMENTS]);
    assert.deepEqual([...r.removedResources].sort(), [ORDERS, 'not a name'].sort());
    assert.equal(h.metrics.get('rejected:Secret:unknown'), before + 1);
    s.ack(r, { resourceNamesSubscribe: ['ROOTCA'] });
    assert.deepEqual(deltaNames(await s.next()), ['ROOTCA']);
    s.end();
  });

  test('`default` is the caller’s default identity, and denied for a caller without one', async () => {
    const a = await h.client.fetchSecrets({ node: { id: 'x' }, typeUrl: TYPE_SECRET, resourceNames: ['default'] }, 'uid:1001');
    assert.deepEqual(await secretNames(a), ['default']);
    const b = await h.client.fetchSecrets({ node: { id: 'x' }, typeUrl: TYPE_SECRET, resourceNames: ['default', 'ROOTCA'] }, 'uid:4242');
    assert.deepEqual(await secretNames(b), ['ROOTCA']);
  });

  test('the insecure principal may fetch any identity', async () => {
    const r = await h.client.fetchSecrets({ node: { id: 'dev' }, typeUrl: TYPE_SECRET, resourceNames: [ORDERS, PAYMENTS] }, 'insecure');
    assert.deepEqual(await secretNames(r), [ORDERS, PAYMENTS].sort());
  });

  test('a stream authenticated as one principal cannot switch by changing its node', async () => {
    const s = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    s.send({ node: { id: 'payments-1', cluster: 'payments' }, typeUrl: TYPE_SECRET, resourceNames: [PAYMENTS, 'ROOTCA'] });
    assert.deepEqual(await secretNames(await s.next()), ['ROOTCA']);
    s.end();
  });
});
