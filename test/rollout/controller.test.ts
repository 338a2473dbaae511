// The controller against a real ResourceCache and a hand-written proxy status: which versions count as ACKed,
// who is waited for, and what the status says.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RolloutController, RolloutError } from '../../src/rollout/controller.js';
import { renderRolloutStatus } from '../../src/rollout/render.js';
import { buildNodeResources } from '../../src/envoy/index.js';
import type { MeshModel } from '../../src/mesh/model.js';
import type { ProxyStatus, ProxyStatusSnapshot, ResourceState } from '../../src/xds/status/proxy-status.js';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { TYPE_CLUSTER, TYPE_LISTENER } from '../../src/xds/type-urls.js';
import { publish, shopMesh } from './fixtures.js';
import type { ProxyFeed, TrackedProxy } from '../../src/rollout/progress.js';

interface Held {
  readonly typeUrl: string;
  readonly name: string;
  readonly state: ResourceState;
  readonly version: string;
  readonly error?: string;
}

function proxy(nodeId: string, cluster: string, held: Held[], service: 'ads' | 'sds' = 'ads'): ProxyStatus {
  const types = [TYPE_LISTENER, TYPE_CLUSTER].map((typeUrl) => ({
    typeUrl,
    type: typeUrl === TYPE_LISTENER ? 'Listener' : 'Cluster',
    state: 'SYNCED' as const,
    resources: held.filter((h) => h.typeUrl === typeUrl).map(({ name, state, version, error }) => ({ name, state, version, ...(error ? { error } : {}) })),
  }));
  return { streamId: nodeId, nodeId, cluster, principal: `node:${nodeId}`, service, variant: 'sotw', connectedSince: '2025-01-01T00:00:00.000Z', types };
}

class World {
  readonly cache = new ResourceCache();
  proxies: ProxyStatus[] = [];
  pushes: MeshModel[] = [];
  readonly rollout = new RolloutController({
    status: (): ProxyStatusSnapshot => ({ generatedAt: '2025-01-01T00:00:00.000Z', proxies: this.proxies }),
    resources: this.cache,
    onEffectiveChange: (m) => {
      this.pushes.push(m);
      publish(this.cache, m);
    },
  });

  listener(state: ResourceState = 'ACKED', error?: string): Held {
    return { typeUrl: TYPE_LISTENER, name: 'inbound_9000', state, version: this.cache.get('orders', TYPE_LISTENER, 'inbound_9000')!.version, ...(error ? { error } : {}) };
  }

  cluster(client: string, state: ResourceState = 'ACKED'): Held {
    return { typeUrl: TYPE_CLUSTER, name: 'outbound_orders', state, version: this.cache.get(client, TYPE_CLUSTER, 'outbound_orders')!.version };
  }

  port() {
    return this.rollout.rolloutStatus().ports.find((p) => p.service === 'orders')!;
  }
}

describe('rollout controller', () => {
  test('before a description: no effective model, an empty status', () => {
    const w = new World();
    assert.throws(() => w.rollout.effective(), (e: unknown) => e instanceof RolloutError && e.code === 'ROLLOUT_NO_DESCRIPTION');
    assert.deepEqual(w.rollout.rolloutStatus(), { ports: [] });
    assert.equal(renderRolloutStatus(w.rollout.rolloutStatus()), 'No inbound ports in the mesh description.\n');
  });

  test('an ACK of the version before the step does not count; ACKs are counted per connected proxy', () => {
    const w = new World();
    w.rollout.setDesired(shopMesh({ orders: 'DISABLE' }));
    const old = w.listener();
    w.proxies = [proxy('orders-1', 'orders', [old]), proxy('orders-2', 'orders', [old]), proxy('orders-3', 'orders', [old])];
    w.rollout.setDesired(shopMesh({ orders: 'STRICT' }));
    assert.notEqual(w.listener().version, old.version, 'the PERMISSIVE listener is a new version');
    w.rollout.statusChanged();
    assert.deepEqual(w.port().waitingFor, ['waiting for 3 of 3 proxies of orders to ACK listener inbound_9000 (PERMISSIVE)']);
    w.proxies = [proxy('orders-1', 'orders', [w.listener()]), proxy('orders-2', 'orders', [w.listener('SENT')]), proxy('orders-3', 'orders', [old])];
    w.rollout.statusChanged();
    assert.deepEqual(w.port().proxies, { connected: 3, acked: 1, nacked: [] });
    assert.deepEqual(w.port().waitingFor, ['waiting for 2 of 3 proxies of orders to ACK listener inbound_9000 (PERMISSIVE)']);
    assert.equal(w.rollout.effective().serviceByName('web')!.outbound[0]!.serverMode, 'DISABLE', 'clients not moved');
  });

  test('proxies not connected are not waited for; an SDS-only stream of the service is not a listener proxy', () => {
    const w = new World();
    w.rollout.setDesired(shopMesh({ orders: 'DISABLE' }));
    const pushes = w.pushes.length;
    w.proxies = [proxy('orders-1', 'orders', [], 'sds')];
    w.rollout.setDesired(shopMesh({ orders: 'STRICT' }));
    // Nobody to wait for: PERMISSIVE, clients mTLS, STRICT, in one go (each a push of its own).
    assert.equal(w.port().inForce, 'STRICT');
    assert.equal(w.port().done, true);
    assert.deepEqual(w.pushes.slice(pushes).map((m) => m.serviceByName('orders')!.inbound[0]!.mode), ['PERMISSIVE', 'PERMISSIVE', 'STRICT']);
  });

  test('an ACK of a later version pushed while the step stands counts for the step', () => {
    const w = new World();
    w.rollout.setDesired(shopMesh({ orders: 'DISABLE' }));
    w.proxies = [proxy('orders-1', 'orders', [w.listener()]), proxy('web-1', 'web', [w.cluster('web')])];
    w.rollout.setDesired(shopMesh({ orders: 'STRICT' }));
    const first = w.listener('SENT');
    // An unrelated edit (the port's protocol) changes the PERMISSIVE listener again.
    w.rollout.setDesired(shopMesh({ orders: 'STRICT', protocol: 'tcp' }));
    assert.notEqual(w.listener().version, first.version);
    assert.equal(w.port().inForce, 'PERMISSIVE');
    w.proxies = [proxy('orders-1', 'orders', [w.listener()]), proxy('web-1', 'web', [w.cluster('web')])];
    w.rollout.statusChanged();
    assert.equal(w.rollout.effective().serviceByName('web')!.outbound[0]!.serverMode, 'PERMISSIVE', 'web moved to mTLS on the ACK of the later version');
    assert.deepEqual(w.port().waitingFor, ['waiting for client web to ACK their mTLS cluster to orders']);
  });

  test('client ACKs: named by service, NACKs shown with the proxy and message; STRICT held for a DISABLE client', () => {
    const w = new World();
    w.rollout.setDesired(shopMesh({ orders: 'PERMISSIVE', reports: 'DISABLE' }));
    w.proxies = [proxy('orders-1', 'orders', [w.listener()]), proxy('web-1', 'web', [w.cluster('web')]), proxy('reports-1', 'reports', [w.cluster('reports')])];
    w.rollout.setDesired(shopMesh({ orders: 'STRICT', reports: 'PERMISSIVE' }));
    assert.equal(w.port().clients.find((c) => c.client === 'reports')!.inForce, 'mtls', 'reports moved: orders already accepts mTLS');
    w.proxies = [
      proxy('orders-1', 'orders', [w.listener()]),
      proxy('web-1', 'web', [w.cluster('web')]),
      proxy('reports-1', 'reports', [{ ...w.cluster('reports', 'NACKED'), error: 'unknown SDS secret' }]),
    ];
    w.rollout.statusChanged();
    assert.equal(w.port().inForce, 'PERMISSIVE');
    assert.deepEqual(w.port().waitingFor, [
      'waiting for client reports to ACK their mTLS cluster to orders',
      'reports-1 of reports NACKed cluster outbound_orders (mTLS): unknown SDS secret',
    ]);

    w.rollout.setDesired(shopMesh({ orders: 'STRICT', reports: 'DISABLE' }));
    w.proxies = [proxy('orders-1', 'orders', [w.listener()]), proxy('web-1', 'web', [w.cluster('web')]), proxy('reports-1', 'reports', [w.cluster('reports')])];
    w.rollout.statusChanged();
    const text = renderRolloutStatus(w.rollout.rolloutStatus());
    assert.equal(
      text,
      [
        'SERVICE   PORT   ASKED    IN FORCE     CLIENTS             WAITING FOR',
        'orders    9000   STRICT   PERMISSIVE   web:mTLS            held at PERMISSIVE: client reports call in plaintext (their own mode is DISABLE; lint TP0003); STRICT would refuse them',
        '                                       reports:plaintext',
        '',
      ].join('\n'),
    );
  });

  test('a failed push changes nothing and is reported to the caller', () => {
    let fail = false;
    const cache = new ResourceCache();
    const rollout = new RolloutController({
      status: () => ({ generatedAt: '', proxies: [proxy('orders-1', 'orders', [])] }),
      resources: cache,
      onEffectiveChange: (m) => {
        if (fail) throw new Error('generator failed');
        publish(cache, m);
      },
    });
    rollout.setDesired(shopMesh({ orders: 'DISABLE' }));
    const before = rollout.effective();
    fail = true;
    assert.throws(() => rollout.setDesired(shopMesh({ orders: 'STRICT' })), /generator failed/);
    assert.equal(rollout.effective(), before);
    assert.equal(rollout.rolloutStatus().ports[0]!.asked, 'DISABLE');
  });

  test('once every step is ACKed the effective resources are byte-identical to the description’s', () => {
    const w = new World();
    w.rollout.setDesired(shopMesh({ orders: 'DISABLE' }));
    const desired = shopMesh({ orders: 'STRICT' });
    w.rollout.setDesired(desired);
    for (let i = 0; i < 4; i++) {
      w.proxies = [proxy('orders-1', 'orders', [w.listener()]), proxy('web-1', 'web', [w.cluster('web')]), proxy('reports-1', 'reports', [w.cluster('reports')])];
      w.rollout.statusChanged();
    }
    assert.equal(w.port().done, true);
    for (const s of desired.services) {
      const want = buildNodeResources(desired, s).map((r) => Buffer.from(r.bytes).toString('base64'));
      const got = buildNodeResources(w.rollout.effective(), w.rollout.effective().serviceByName(s.name)!).map((r) => Buffer.from(r.bytes).toString('base64'));
      assert.deepEqual(got, want, s.name);
    }
  });

  test('with every port at its target, an ACK reads no proxy status (a snapshot costs O(streams))', () => {
    let reads = 0;
    const cache = new ResourceCache();
    const rollout = new RolloutController({
      status: () => {
        reads++;
        return { generatedAt: '', proxies: [proxy('orders-1', 'orders', [])] };
      },
      resources: cache,
      onEffectiveChange: (m) => publish(cache, m),
    });
    rollout.setDesired(shopMesh({ orders: 'STRICT' }));
    reads = 0;
    for (let i = 0; i < 5; i++) rollout.statusChanged();
    assert.equal(reads, 0);
    rollout.setDesired(shopMesh({ orders: 'DISABLE' }));
    reads = 0;
    rollout.statusChanged();
    assert.ok(reads > 0, 'a step under way reads the status');
  });

  test('a stream claiming a service it may not hold is not waited for (isProxyOf)', () => {
    const cache = new ResourceCache();
    const proxies = [proxy("orders-1", "orders", []), proxy("spoof-1", "orders", [])];
    const rollout = new RolloutController({
      status: () => ({ generatedAt: '', proxies }),
      isProxyOf: (p) => p.nodeId !== 'spoof-1',
      resources: cache,
      onEffectiveChange: (m) => publish(cache, m),
    });
    rollout.setDesired(shopMesh({ orders: 'DISABLE' }));
    rollout.setDesired(shopMesh({ orders: 'STRICT' }));
    assert.equal(rollout.rolloutStatus().ports.find((p) => p.service === 'orders')!.proxies.connected, 1, 'only the real proxy is counted');
  });

  test('told of policy changes: a reload asks isProxyOf nothing; policyChanged() asks it of every stream', () => {
    const cache = new ResourceCache();
    const tracked = (nodeId: string): TrackedProxy => ({ streamId: nodeId, nodeId, cluster: 'orders', principal: `node:${nodeId}`, service: 'ads', resource: () => undefined });
    const proxies = [tracked('orders-1'), tracked('spoof-1')];
    const feed: ProxyFeed = { proxies: () => proxies, onStatusChange: () => () => {} };
    let asked = 0;
    let spoofAllowed = true;
    const rollout = new RolloutController({
      status: () => ({ generatedAt: '', proxies: [] }),
      feed,
      toldOfPolicyChanges: true,
      isProxyOf: (p) => (asked++, spoofAllowed || p.nodeId !== 'spoof-1'),
      resources: cache,
      onEffectiveChange: (m) => publish(cache, m),
    });
    const connected = (): number => rollout.rolloutStatus().ports.find((p) => p.service === 'orders')!.proxies.connected;
    assert.equal(asked, 2, 'the streams at start');
    rollout.setDesired(shopMesh({ orders: 'DISABLE' }));
    rollout.setDesired(shopMesh({ orders: 'STRICT' }));
    assert.equal(asked, 2, 'no stream asked again on a reload');
    assert.equal(connected(), 2);
    spoofAllowed = false;
    rollout.policyChanged();
    assert.equal(asked, 4, 'every stream, once');
    assert.equal(connected(), 1, 'only the real proxy is counted');
  });
});
