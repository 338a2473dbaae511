// CSDS answers only what the caller may see, and refuses what it cannot evaluate safely — without falling over.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { PATHS } from './client.js';
import { startHarness, ORDERS_NODE, PAYMENTS_NODE, type Harness } from './harness.js';
import { TYPE_SECRET } from '../../../src/xds/type-urls.js';
import { makeSvid, pki } from './fixtures.js';

const SERVER = 'spiffe://example.org/trustplane/server';

const OPERATOR = `uid:${process.getuid?.() ?? 0}`;

describe('CSDS access', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test('a node sees its own streams only; the operator (the uid trustplane runs as) sees every proxy', async () => {
    const a = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    a.send({ node: { id: 'orders-1' }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
    await a.next();
    const b = h.client.sotw(PATHS.StreamSecrets, PAYMENTS_NODE);
    b.send({ node: { id: 'payments-1' }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
    await b.next();
    const own = await h.client.fetchClientStatus({}, ORDERS_NODE);
    assert.deepEqual(own.config.map((c) => c.node?.id), ['orders-1']);
    const all = await h.client.fetchClientStatus({}, OPERATOR);
    assert.deepEqual(all.config.map((c) => c.node?.id).sort(), ['orders-1', 'payments-1']);
    a.end();
    b.end();
  });

  for (const via of ['FetchClientStatus', 'StreamClientStatus'] as const) {
    test(`${via}: a safe_regex node matcher is INVALID_ARGUMENT, and the server keeps serving`, async () => {
      const req = { nodeMatchers: [{ nodeId: { matchPattern: { case: 'safeRegex' as const, value: { regex: '(' } } } }] };
      const call = via === 'FetchClientStatus' ? h.client.fetchClientStatus(req, OPERATOR) : h.client.streamClientStatus(req, OPERATOR);
      await assert.rejects(call, (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /safeRegex is not supported/.test(e.details));
      const after = await h.client.fetchClientStatus({}, OPERATOR);
      assert.ok(Array.isArray(after.config));
    });
  }
});

describe("trustplane's own identities", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    const p = await pki();
    h.store.setSvid(await makeSvid(p.ca, SERVER));
  });
  after(() => h.close());

  for (const [who, principal] of [
    ['insecure (development mode)', 'insecure'],
    ['the operator uid', OPERATOR],
  ] as const) {
    test(`are never served over SDS, even to ${who}`, async () => {
      const res = await h.client.fetchSecrets({ node: { id: 'x' }, typeUrl: TYPE_SECRET, resourceNames: [SERVER, 'ROOTCA'] }, principal);
      assert.deepEqual(res.resources.length, 1, 'only ROOTCA');
      assert.doesNotMatch(Buffer.from(res.resources[0]!.value).toString('latin1'), /PRIVATE KEY/);
    });
  }
});
