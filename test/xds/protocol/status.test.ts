import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ClientResourceStatus } from '#gen/envoy/admin/v3/config_dump_shared_pb';
import { ConfigStatus } from '#gen/envoy/service/status/v3/csds_pb';
import { ORDERS, LATER, pki } from './fixtures.js';
import { PATHS } from './client.js';
import { startHarness, ORDERS_NODE, type Harness } from './harness.js';
import { renderProxySecrets, renderProxyStatusTable } from '../../../src/xds/status/status-render.js';
import { TYPE_SECRET } from '../../../src/xds/type-urls.js';

describe('proxy status and CSDS', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test('per type: STALE until ACKed, SYNCED after, NACKED after a NACK; per name: version, nonce, serial; rendered like istioctl', async () => {
    const s = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    s.send({ node: { id: 'orders-1', cluster: 'orders' }, typeUrl: TYPE_SECRET, resourceNames: [ORDERS, 'ROOTCA', LATER] });
    const r1 = await s.next();
    const sdsState = () => h.xds.status().proxies.find((p) => p.nodeId === 'orders-1')!.types.find((t) => t.typeUrl === TYPE_SECRET)!;
    assert.equal(sdsState().state, 'STALE');
    assert.equal(sdsState().nonceSent, r1.nonce);
    assert.equal(sdsState().versionSent, r1.versionInfo);
    s.ack(r1, [ORDERS, 'ROOTCA', LATER]);
    s.ack(r1, [ORDERS, 'ROOTCA', LATER, 'ALL']); // processed after the ACK: its answer proves the ACK arrived
    const r2 = await s.next();
    const t = sdsState();
    assert.equal(t.state, 'STALE', 'r2 is not ACKed yet');
    assert.equal(t.resources.find((r) => r.name === LATER)?.state, 'NOT_FOUND');
    s.ack(r2, [ORDERS, 'ROOTCA', LATER, 'ALL']);
    s.send({ typeUrl: TYPE_SECRET, versionInfo: r2.versionInfo, responseNonce: r2.nonce, resourceNames: [ORDERS, 'ROOTCA', LATER, 'ALL', 'default'] });
    const r3 = await s.next();
    h.clock.advance(90_000);
    s.ack(r3, [ORDERS, 'ROOTCA', LATER, 'ALL', 'default']);
    s.send({ typeUrl: TYPE_SECRET, versionInfo: r3.versionInfo, responseNonce: r3.nonce, resourceNames: [ORDERS, 'ROOTCA', LATER, 'ALL', 'default', 'spiffe://partner.example'] });
    const r4 = await s.next();
    s.send({ typeUrl: TYPE_SECRET, responseNonce: r4.nonce, resourceNames: [ORDERS, 'ROOTCA', LATER, 'ALL', 'default', 'spiffe://partner.example'], errorDetail: { message: 'bad partner bundle' } });
    // The probe's answer shows the NACK was processed (it is handled before the probe).
    s.send({ typeUrl: TYPE_SECRET, responseNonce: r4.nonce, resourceNames: [ORDERS, 'ROOTCA', LATER, 'ALL', 'default', 'spiffe://partner.example', 'spiffe://example.org'] });
    await s.next();
    const snap = h.xds.status();
    const p = await pki();
    const orders = snap.proxies[0]!.types[0]!.resources.find((r) => r.name === ORDERS)!;
    assert.equal(orders.state, 'ACKED', 'ACKed with r3, carried over since');
    assert.deepEqual(orders.secret, { kind: 'tls_certificate', spiffeId: ORDERS, serial: p.orders.serial, notBefore: p.orders.notBefore.toISOString(), notAfter: p.orders.notAfter.toISOString() });
    assert.equal(snap.proxies[0]!.types[0]!.lastNack?.message, 'bad partner bundle');
    const table = renderProxyStatusTable(snap, h.clock.now());
    assert.match(table, /^NAME\s+CLUSTER\s+PRINCIPAL\s+STREAM\s+CDS\s+LDS\s+EDS\s+RDS\s+SDS\s+CONNECTED$/m);
    assert.match(table, /orders-1\s+orders\s+node:orders-1\s+sds\/sotw\s+-\s+-\s+-\s+-\s+STALE \(0s\)\s+1m/);
    const secrets = renderProxySecrets(snap, 'orders-1', h.clock.now());
    assert.match(secrets, new RegExp(`${ORDERS.replace(/[/.]/g, '\\$&')}\\s+Cert Chain\\s+${p.orders.serial}\\s+${p.orders.notBefore.toISOString()}\\s+${p.orders.notAfter.toISOString()}\\s+ACKED`));
    assert.match(secrets, /spiffe:\/\/partner\.example\s+CA \(partner\.example\)\s+-\s+-\s+-\s+NACKED: bad partner bundle/);
    assert.match(secrets, new RegExp(`${LATER.replace(/[/.]/g, '\\$&')}\\s+-\\s+-\\s+-\\s+-\\s+NOT_FOUND`));
    assert.ok(!secrets.includes('PRIVATE KEY') && !JSON.stringify(snap).includes('PRIVATE KEY'));

    const csds = await h.client.fetchClientStatus({ nodeMatchers: [{ nodeId: { matchPattern: { case: 'prefix', value: 'orders-' } } }] }, ORDERS_NODE);
    assert.equal(csds.config.length, 1);
    const cfg = csds.config[0]!;
    assert.equal(cfg.node?.id, 'orders-1');
    const byName = new Map(cfg.genericXdsConfigs.map((g) => [g.name, g]));
    assert.equal(byName.get(ORDERS)?.clientStatus, ClientResourceStatus.ACKED);
    assert.equal(byName.get(ORDERS)?.configStatus, ConfigStatus.SYNCED);
    assert.equal(byName.get('spiffe://partner.example')?.clientStatus, ClientResourceStatus.NACKED);
    assert.equal(byName.get('spiffe://partner.example')?.errorState?.details, 'bad partner bundle');
    assert.equal(byName.get(LATER)?.clientStatus, ClientResourceStatus.DOES_NOT_EXIST);
    assert.ok(cfg.genericXdsConfigs.every((g) => g.xdsConfig === undefined), 'contents never included');
    const none = await h.client.streamClientStatus({ nodeMatchers: [{ nodeId: { matchPattern: { case: 'exact', value: 'payments-1' } } }] }, ORDERS_NODE);
    assert.equal(none.config.length, 0);
    s.end();
    await s.status;
  });

  test('a closed stream leaves the status and the connected gauge', async () => {
    const s = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    s.send({ node: { id: 'short-lived' }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
    await s.next();
    assert.ok(h.xds.status().proxies.some((p) => p.nodeId === 'short-lived'));
    assert.ok(h.metrics.connected >= 1);
    s.end();
    await s.status;
    assert.ok(!h.xds.status().proxies.some((p) => p.nodeId === 'short-lived'));
  });

  test('close() ends open streams with OK so proxies reconnect elsewhere', async () => {
    const h2 = await startHarness();
    const s = h2.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
    s.send({ node: { id: 'x' }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
    await s.next();
    await h2.xds.close();
    assert.equal((await s.status).code, 0);
    assert.equal(h2.metrics.connected, 0);
    await h2.close();
  });
});
