// The rollout ordering over real ADS streams: a real XdsServer and ResourceCache, and test proxies that ACK, NACK
// or withhold ACKs. What each proxy holds is read from what was pushed to it (filter chains, transport socket).
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { RolloutController } from '../../src/rollout/controller.js';
import { renderRolloutStatus } from '../../src/rollout/render.js';
import { startHarness, type Harness } from '../xds/protocol/harness.js';
import { fromBinary } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { TYPE_CLUSTER } from '../../src/xds/type-urls.js';
import { chainProtocols, clusterOf, clusterTransport, listenerMode, publish, shopMesh } from './fixtures.js';
import { addProbeRoute, DeltaListenerProxy, SotwClusterProxy } from './proxies.js';

for (const fed of [false, true]) describe(`rollout over ADS (${fed ? 'counts fed by the server’s events' : 'status snapshots'})`, () => {
  let h: Harness;
  let rollout: RolloutController;
  let server: DeltaListenerProxy;
  let client: SotwClusterProxy;

  const port = () => rollout.rolloutStatus().ports.find((p) => p.service === 'orders')!;

  beforeEach(async () => {
    h = await startHarness();
    addProbeRoute(h.resources);
    rollout = new RolloutController({ status: () => h.xds.status(), ...(fed ? { feed: h.xds } : {}), resources: h.resources, onEffectiveChange: (m) => publish(h.resources, m) });
    // reports stays out: one client proxy (web) stands for every client.
    rollout.setDesired(shopMesh({ orders: 'DISABLE', withoutReports: true }));
    server = new DeltaListenerProxy(h.client, 'orders-1', 'orders', 'inbound_9000');
    client = new SotwClusterProxy(h.client, 'web-1', 'web', 'outbound_orders');
    assert.deepEqual(chainProtocols(await server.nextListener()), ['raw_buffer']);
    assert.equal(clusterTransport(await client.nextCluster()), 'plaintext');
    server.ack();
    client.ack();
    await server.settle();
    await client.settle();
    rollout.statusChanged();
    assert.equal(port().done, true);
  });

  afterEach(async () => {
    server.close();
    client.close();
    await h.close();
  });

  test('DISABLE → STRICT: server PERMISSIVE; client mTLS only after the server ACKs; STRICT only after the client ACKs', async () => {
    rollout.setDesired(shopMesh({ orders: 'STRICT', withoutReports: true }));
    const permissive = await server.nextListener();
    assert.deepEqual(chainProtocols(permissive), ['tls', 'raw_buffer'], 'PERMISSIVE: the TLS chain added, plaintext kept');
    assert.equal(port().inForce, 'PERMISSIVE');
    assert.deepEqual(port().waitingFor, ['waiting for 1 of 1 proxies of orders to ACK listener inbound_9000 (PERMISSIVE)']);

    // The server's proxy withholds its ACK: however often the controller looks, the client is not moved.
    rollout.statusChanged();
    rollout.statusChanged();
    await client.settle();
    assert.equal(clusterTransport(servedCluster()), 'plaintext', 'what is served to web is still plaintext');
    assert.equal(rollout.effective().serviceByName('web')!.outbound[0]!.serverMode, 'DISABLE', "web's view of orders");

    server.ack();
    await server.settle();
    rollout.statusChanged();
    assert.equal(clusterTransport(await client.nextCluster()), 'mtls', 'the client switches once the server ACKed PERMISSIVE');
    assert.deepEqual(port().waitingFor, ['waiting for client web to ACK their mTLS cluster to orders']);

    // The client's proxy withholds its ACK: the server stays PERMISSIVE.
    rollout.statusChanged();
    await server.settle();
    assert.equal(port().inForce, 'PERMISSIVE');

    client.ack();
    await client.settle();
    rollout.statusChanged();
    assert.deepEqual(chainProtocols(await server.nextListener()), ['tls'], 'STRICT once the client ACKed its mTLS cluster');
    assert.equal(port().inForce, 'STRICT');
    server.ack();
    await server.settle();
    assert.equal(port().done, true);
    assert.match(renderRolloutStatus(rollout.rolloutStatus()), /^orders\s+9000\s+STRICT\s+STRICT\s+web:mTLS\s+-$/m);
  });

  test('a NACK of the PERMISSIVE listener holds the rollout and shows in the status; going back needs no ACK from the server', async () => {
    rollout.setDesired(shopMesh({ orders: 'STRICT', withoutReports: true }));
    assert.equal(listenerMode(await server.nextListener()), 'PERMISSIVE');
    server.nack('filter chain match conflict');
    await server.settle();
    rollout.statusChanged();
    await client.settle(); // nothing was pushed to the client
    assert.equal(port().inForce, 'PERMISSIVE');
    assert.deepEqual(port().waitingFor, [
      'waiting for 1 of 1 proxies of orders to ACK listener inbound_9000 (PERMISSIVE)',
      'orders-1 of orders NACKed listener inbound_9000 (PERMISSIVE): filter chain match conflict',
    ]);
    assert.match(renderRolloutStatus(rollout.rolloutStatus()), /^orders\s+9000\s+STRICT\s+PERMISSIVE\s+web:plaintext→mTLS\s+waiting for 1 of 1 proxies/m);
    assert.match(renderRolloutStatus(rollout.rolloutStatus()), /^\s+orders-1 of orders NACKed listener inbound_9000 \(PERMISSIVE\): filter chain match conflict$/m);

    rollout.setDesired(shopMesh({ orders: 'DISABLE', withoutReports: true }));
    assert.equal(listenerMode(await server.nextListener()), 'DISABLE', 'rolled back without waiting for the NACKing proxy');
    server.ack();
    await server.settle();
    await client.settle();
    rollout.statusChanged();
    assert.equal(port().done, true);
  });

  test('STRICT → DISABLE: server PERMISSIVE; client plaintext only after the server ACKs; DISABLE only after the client ACKs', async () => {
    // Get to STRICT first, every step ACKed.
    rollout.setDesired(shopMesh({ orders: 'STRICT', withoutReports: true }));
    await server.nextListener();
    server.ack();
    await server.settle();
    rollout.statusChanged();
    await client.nextCluster();
    client.ack();
    await client.settle();
    rollout.statusChanged();
    assert.equal(listenerMode(await server.nextListener()), 'STRICT');
    server.ack();
    await server.settle();

    rollout.setDesired(shopMesh({ orders: 'DISABLE', withoutReports: true }));
    assert.equal(listenerMode(await server.nextListener()), 'PERMISSIVE', 'plaintext accepted again before any client sends it');
    await client.settle();
    server.ack();
    await server.settle();
    rollout.statusChanged();
    assert.equal(clusterTransport(await client.nextCluster()), 'plaintext');
    await server.settle();
    assert.equal(port().inForce, 'PERMISSIVE', 'the TLS chain stays until the client ACKs plaintext');
    client.ack();
    await client.settle();
    rollout.statusChanged();
    assert.equal(listenerMode(await server.nextListener()), 'DISABLE');
  });

  function servedCluster() {
    return clusterOf(fromBinary(AnySchema, h.resources.get('web', TYPE_CLUSTER, 'outbound_orders')!.any));
  }
});
