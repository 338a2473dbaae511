// A client that drops every subscription of a type and later asks for the same names again (grpc-js does this when
// its last channel to a target closes and a new one opens) must get them again at once, though nothing changed.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { ListenerSchema } from '#gen/envoy/config/listener/v3/listener_pb';
import { PATHS } from './client.js';
import { startHarness, ORDERS_NODE, type Harness } from './harness.js';
import { TYPE_LISTENER, TYPE_SECRET } from '../../../src/xds/type-urls.js';
import { secretNames } from './helpers.js';
import { ORDERS } from './fixtures.js';

const node = { id: 'orders-1', cluster: 'orders' };

describe('re-subscribing after dropping every name', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    h.resources.setSnapshot('orders', { [TYPE_LISTENER]: [{ name: 'xds:///greeter', resource: anyPack(ListenerSchema, create(ListenerSchema, { name: 'xds:///greeter' })) }] } as never);
  });
  after(() => h.close());

  for (const [type, name] of [
    [TYPE_LISTENER, 'xds:///greeter'],
    [TYPE_SECRET, ORDERS],
  ] as const) {
    test(`SotW ${type.split('.').at(-1)}: the same name asked again after an empty list is sent again`, async () => {
      const s = h.client.sotw(PATHS.StreamAggregatedResources, ORDERS_NODE);
      s.send({ node, typeUrl: type, resourceNames: [name] });
      const r1 = await s.next();
      assert.equal(r1.resources.length, 1);
      s.ack(r1, []);
      const r2 = await s.next();
      assert.equal(r2.resources.length, 0, 'the drop is answered with an empty response');
      s.ack(r2, [name]);
      const r3 = await s.next();
      assert.equal(r3.resources.length, 1, 'the name comes back at once');
      if (type === TYPE_SECRET) assert.deepEqual(await secretNames(r3), [ORDERS]);
      s.end();
    });
  }
});
