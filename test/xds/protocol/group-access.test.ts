// node.cluster picks a node's listeners and clusters, and nothing authenticates it: the policy decides whether the
// caller may read that group.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { ListenerSchema } from '#gen/envoy/config/listener/v3/listener_pb';
import { PATHS } from './client.js';
import { defaultPolicy, startHarness, ORDERS_NODE, PAYMENTS_NODE, type Harness } from './harness.js';
import { TYPE_LISTENER, TYPE_SECRET } from '../../../src/xds/type-urls.js';
import type { IdentityPolicy } from '../../../src/xds/policy.js';

const policy: IdentityPolicy = {
  mayReceive: (p, id) => defaultPolicy.mayReceive(p, id),
  defaultIdentity: (p) => defaultPolicy.defaultIdentity(p),
  mayReadGroup: (p, group) => group === 'orders' && p.kind === 'node' && p.name === 'orders-1',
};

describe('resource groups and who may read them', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ policy });
    h.resources.setSnapshot('orders', { [TYPE_LISTENER]: [{ name: 'inbound_15006', resource: anyPack(ListenerSchema, create(ListenerSchema, { name: 'inbound_15006' })) }] } as never);
  });
  after(() => h.close());

  test("a node of the service gets its listeners; another node claiming the service's cluster gets none, shown as DENIED", async () => {
    const own = h.client.sotw(PATHS.StreamAggregatedResources, ORDERS_NODE);
    own.send({ node: { id: 'orders-1', cluster: 'orders' }, typeUrl: TYPE_LISTENER, resourceNames: [] });
    assert.equal((await own.next()).resources.length, 1, 'wildcard LDS: the group’s listener');

    const intruder = h.client.sotw(PATHS.StreamAggregatedResources, PAYMENTS_NODE);
    intruder.send({ node: { id: 'spoof-1', cluster: 'orders' }, typeUrl: TYPE_LISTENER, resourceNames: ['inbound_15006'] });
    // A probe on another type: its answer proves the listener request was handled, and is the first message.
    intruder.send({ typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
    const r = await intruder.next();
    assert.equal(r.typeUrl, TYPE_SECRET, 'no listener was sent before the probe’s answer');
    const status = h.xds.status().proxies.find((p) => p.nodeId === 'spoof-1')!;
    assert.equal(status.types.find((t) => t.typeUrl === TYPE_LISTENER)?.resources.find((x) => x.name === 'inbound_15006')?.state, 'DENIED');
    own.end();
    intruder.end();
  });
});
