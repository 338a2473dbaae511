import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { ClusterSchema } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { ListenerSchema } from '#gen/envoy/config/listener/v3/listener_pb';
import { ClusterLoadAssignmentSchema } from '#gen/envoy/config/endpoint/v3/endpoint_pb';
import type { DeltaDiscoveryResponse, DiscoveryResponse } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { ORDERS } from './fixtures.js';
import { PATHS } from './client.js';
import { startHarness, ORDERS_NODE, type Harness } from './harness.js';
import { secretNames } from './helpers.js';
import { strictUnpack } from './strict.js';
import { DEFAULT_GROUP, type NamedResource } from '../../../src/xds/cache/resource-cache.js';
import { TYPE_CLUSTER, TYPE_ENDPOINT, TYPE_LISTENER, TYPE_SECRET } from '../../../src/xds/type-urls.js';

const cluster = (name: string, ms = 1000): NamedResource => ({
  name,
  resource: anyPack(ClusterSchema, create(ClusterSchema, { name, connectTimeout: { seconds: BigInt(ms / 1000) } })),
});
const listener = (name: string): NamedResource => ({ name, resource: anyPack(ListenerSchema, create(ListenerSchema, { name })) });
const endpoints = (name: string): NamedResource => ({
  name,
  resource: anyPack(ClusterLoadAssignmentSchema, create(ClusterLoadAssignmentSchema, { clusterName: name })),
});

async function names(r: DiscoveryResponse | DeltaDiscoveryResponse): Promise<string[]> {
  const anys = r.$typeName === 'envoy.service.discovery.v3.DiscoveryResponse' ? r.resources : r.resources.map((x) => x.resource!);
  const out: string[] = [];
  for (const a of anys) {
    const m = (await strictUnpack(a)) as unknown as { name?: string; clusterName?: string };
    out.push(m.name ?? m.clusterName ?? '');
  }
  return out.sort();
}

const node = { id: 'orders-1', cluster: 'orders' };

describe('ADS', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    h.resources.setSnapshot(DEFAULT_GROUP, {
      [TYPE_CLUSTER]: [cluster('shared'), cluster('common')],
      [TYPE_LISTENER]: [listener('inbound')],
      [TYPE_ENDPOINT]: [endpoints('shared')],
    });
    h.resources.setSnapshot('orders', { [TYPE_CLUSTER]: [cluster('shared', 5000), cluster('orders-only')] });
  });
  after(() => h.close());

  test('SotW legacy wildcard for clusters: an empty first request gets the node group’s clusters over the default group', async () => {
    const s = h.client.sotw(PATHS.StreamAggregatedResources, ORDERS_NODE);
    s.send({ node, typeUrl: TYPE_CLUSTER });
    const r1 = await s.next();
    assert.deepEqual(await names(r1), ['common', 'orders-only', 'shared']);
    const shared = (await Promise.all(r1.resources.map((a) => strictUnpack(a)))).find((m) => (m as unknown as { name: string }).name === 'shared');
    assert.equal((shared as unknown as { connectTimeout?: { seconds: bigint } }).connectTimeout?.seconds, 5n, 'the group’s own version wins');
    s.ack(r1, []);
    h.resources.setSnapshot(DEFAULT_GROUP, {
      [TYPE_CLUSTER]: [cluster('shared'), cluster('common'), cluster('added')],
    });
    const r2 = await s.next();
    assert.deepEqual(await names(r2), ['added', 'common', 'orders-only', 'shared'], 'still wildcard after an empty ACK');
    s.end();
    h.resources.setSnapshot(DEFAULT_GROUP, { [TYPE_CLUSTER]: [cluster('shared'), cluster('common')] });
  });

  test('SotW explicit subscription ends the legacy wildcard; an empty list then unsubscribes; `*` subscribes to everything', async () => {
    const s = h.client.sotw(PATHS.StreamAggregatedResources, ORDERS_NODE);
    s.send({ node, typeUrl: TYPE_CLUSTER, resourceNames: ['common'] });
    const r1 = await s.next();
    assert.deepEqual(await names(r1), ['common']);
    s.ack(r1, []);
    const r2 = await s.next();
    assert.deepEqual(await names(r2), []);
    s.ack(r2, ['*', 'not-there']);
    const r3 = await s.next();
    assert.deepEqual(await names(r3), ['common', 'orders-only', 'shared']);
    s.end();
  });

  test('endpoints are not a wildcard type: an empty list gets nothing; versions are kept per type', async () => {
    const s = h.client.sotw(PATHS.StreamAggregatedResources, ORDERS_NODE);
    s.send({ node, typeUrl: TYPE_ENDPOINT });
    s.send({ typeUrl: TYPE_LISTENER });
    const l1 = await s.next();
    assert.equal(l1.typeUrl, TYPE_LISTENER, 'the endpoint request got no response');
    assert.deepEqual(await names(l1), ['inbound']);
    s.send({ typeUrl: TYPE_SECRET, resourceNames: [ORDERS] });
    const s1 = await s.next();
    assert.equal(s1.typeUrl, TYPE_SECRET);
    assert.deepEqual(await secretNames(s1), [ORDERS]);
    // ACK of one type does not answer the other
    s.ack(s1, [ORDERS]);
    s.ack(l1, ['inbound']);
    s.send({ typeUrl: TYPE_ENDPOINT, resourceNames: ['shared'] });
    const e1 = await s.next();
    assert.equal(e1.typeUrl, TYPE_ENDPOINT);
    assert.deepEqual(await names(e1), ['shared']);
    const status = h.xds.status().proxies.find((p) => p.service === 'ads' && p.types.some((t) => t.typeUrl === TYPE_ENDPOINT))!;
    const state = Object.fromEntries(status.types.map((t) => [t.type, t.state]));
    assert.deepEqual(state, { ClusterLoadAssignment: 'STALE', Listener: 'SYNCED', Secret: 'SYNCED' });
    assert.notEqual(e1.versionInfo, l1.versionInfo);
    s.end();
  });

  test('a type this server does not serve is ignored without closing the stream', async () => {
    const s = h.client.sotw(PATHS.StreamAggregatedResources, ORDERS_NODE);
    s.send({ node, typeUrl: 'type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig', resourceNames: ['x'] });
    s.send({ typeUrl: TYPE_LISTENER, resourceNames: ['inbound'] });
    const r = await s.next();
    assert.equal(r.typeUrl, TYPE_LISTENER);
    s.end();
  });

  test('Delta: legacy wildcard, removal reported in removed_resources, explicit `*` unsubscribe', async () => {
    const s = h.client.delta(PATHS.DeltaAggregatedResources, ORDERS_NODE);
    s.send({ node, typeUrl: TYPE_CLUSTER });
    const r1 = await s.next();
    assert.deepEqual(await names(r1), ['common', 'orders-only', 'shared']);
    s.ack(r1);
    h.resources.setSnapshot('orders', { [TYPE_CLUSTER]: [cluster('shared', 7000)] });
    const r2 = await s.next();
    assert.deepEqual(await names(r2), ['shared'], 'only the changed cluster');
    assert.deepEqual(r2.removedResources, ['orders-only']);
    // 'absent-probe' does not exist: its removed_resources answer shows the request was processed.
    s.ack(r2, { resourceNamesUnsubscribe: ['*'], resourceNamesSubscribe: ['common', 'absent-probe'] });
    const probe = await s.next();
    assert.deepEqual(probe.resources, []);
    assert.deepEqual(probe.removedResources, ['absent-probe'], 'leaving the wildcard reports nothing else as removed');
    h.resources.setSnapshot(DEFAULT_GROUP, {
      [TYPE_CLUSTER]: [cluster('shared'), cluster('common'), cluster('another')],
    });
    s.send({ typeUrl: TYPE_LISTENER, resourceNamesSubscribe: ['inbound'] });
    const r3 = await s.next();
    assert.equal(r3.typeUrl, TYPE_LISTENER, 'no cluster push after leaving the wildcard');
    s.end();
    h.resources.setSnapshot(DEFAULT_GROUP, { [TYPE_CLUSTER]: [cluster('shared'), cluster('common')] });
    h.resources.setSnapshot('orders', { [TYPE_CLUSTER]: [cluster('shared', 5000), cluster('orders-only')] });
  });

  test('Delta: secrets and clusters on one stream, pushed in dependency order', async () => {
    const s = h.client.delta(PATHS.DeltaAggregatedResources, ORDERS_NODE);
    s.send({ node, typeUrl: TYPE_SECRET, resourceNamesSubscribe: ['ROOTCA'] });
    const r1 = await s.next();
    assert.equal(r1.typeUrl, TYPE_SECRET);
    s.send({ typeUrl: TYPE_CLUSTER, resourceNamesSubscribe: ['common'] });
    const r2 = await s.next();
    assert.equal(r2.typeUrl, TYPE_CLUSTER);
    assert.deepEqual(await names(r2), ['common']);
    s.end();
  });

  test('the resource cache refuses a bad snapshot whole', () => {
    assert.throws(() => h.resources.setSnapshot('x', { [TYPE_CLUSTER]: [cluster('a'), listener('b')] }), { code: 'XDS_RESOURCE_TYPE_MISMATCH' });
    assert.throws(() => h.resources.setSnapshot('x', { [TYPE_CLUSTER]: [cluster('a'), cluster('a')] }), { code: 'XDS_RESOURCE_DUPLICATE' });
    assert.deepEqual(h.resources.names('x', TYPE_CLUSTER), ['common', 'shared']);
  });
});
