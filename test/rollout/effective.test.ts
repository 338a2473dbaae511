import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpiffeId } from '../../src/spiffe/id.js';
import { buildNodeResources } from '../../src/envoy/index.js';
import type { Cluster } from '#gen/envoy/config/cluster/v3/cluster_pb';
import type { Listener } from '#gen/envoy/config/listener/v3/listener_pb';
import { effectiveModel } from '../../src/rollout/effective.js';
import { planRollout } from '../../src/rollout/plan.js';
import type { RolloutState } from '../../src/rollout/state-machine.js';
import { withModes } from '../../src/rollout/with-modes.js';
import { chainProtocols, clusterTransport, shopMesh } from './fixtures.js';

const resource = (m: ReturnType<typeof shopMesh>, service: string, name: string) =>
  buildNodeResources(m, m.serviceByName(service)!).find((r) => r.name === name)!.message;

describe('withModes', () => {
  test('derives a model with the modes given, leaving the description untouched, every method answering with derived services', () => {
    const desired = shopMesh({ orders: 'STRICT' });
    const m = withModes(desired, { ports: new Map([['orders:9000', 'PERMISSIVE']]), serverModes: new Map([['web→orders', 'DISABLE']]) });
    assert.equal(desired.serviceByName('orders')!.inbound[0]!.mode, 'STRICT');
    assert.equal(m.serviceByName('orders')!.inbound[0]!.mode, 'PERMISSIVE');
    assert.equal(m.serviceByName('web')!.outbound[0]!.serverMode, 'DISABLE');
    assert.equal(m.serviceByName('reports'), desired.serviceByName('reports'), 'untouched services are shared');
    assert.equal(m.serviceBySpiffeId('spiffe://example.org/orders'), m.serviceByName('orders'));
    assert.deepEqual(m.servicesForPrincipal({ kind: 'uid', uid: 2001 }), [m.serviceByName('orders')]);
    assert.equal(m.admitsCaller(m.serviceByName('orders')!, SpiffeId.parse('spiffe://example.org/web')), true);
    assert.equal(m.admitsCaller(m.serviceByName('orders')!, SpiffeId.parse('spiffe://elsewhere.example/web')), false);
    assert.deepEqual(m.knownTrustDomains(), desired.knownTrustDomains());
    assert.ok(Object.isFrozen(m) && Object.isFrozen(m.services) && Object.isFrozen(m.serviceByName('orders')!.inbound[0]));
    assert.deepEqual(chainProtocols(resource(m, 'orders', 'inbound_9000') as Listener), ['tls', 'raw_buffer']);
    assert.equal(clusterTransport(resource(m, 'web', 'outbound_orders') as Cluster), 'plaintext');
  });

  test('a client moving to DISABLE with its edge held at mTLS keeps that mTLS cluster, and its other dependencies go plaintext as asked', () => {
    const desired = shopMesh({ orders: 'STRICT', reports: 'DISABLE' });
    const state: RolloutState = {
      ports: new Map([['orders:9000', { mode: 'PERMISSIVE', previous: 'STRICT' }]]),
      edges: new Map([
        ['web→orders', { transport: 'mtls', server: 'orders', port: 9000 }],
        ['reports→orders', { transport: 'mtls', server: 'orders', port: 9000 }],
      ]),
    };
    const m = effectiveModel(desired, planRollout(desired), state);
    assert.equal(clusterTransport(resource(m, 'reports', 'outbound_orders') as Cluster), 'mtls');
    assert.equal(clusterTransport(resource(m, 'reports', 'outbound_warehouse') as Cluster), 'plaintext');
    assert.equal(clusterTransport(resource(desired, 'reports', 'outbound_warehouse') as Cluster), 'plaintext', 'as the description asks');
  });
});
