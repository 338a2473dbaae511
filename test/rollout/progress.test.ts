// Issue 10: while a step is pending, an ACK costs the rollout O(1), not a walk over every stream. A real XdsServer
// with 400 proxies of the server and 400 of its client (in-process stand-in calls: the counts, not the sockets,
// are under test); the controller is fed by the server's events. Counted, not timed: snapshots read, and proxy
// standings worked out per ACK.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { create, fromBinary } from '@bufbuild/protobuf';
import { DiscoveryRequestSchema, DiscoveryResponseSchema, type DiscoveryResponse } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { ManualClock } from '../../src/clock.js';
import { RolloutController } from '../../src/rollout/controller.js';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { XdsServer } from '../../src/xds/server/server.js';
import { TYPE_CLUSTER, TYPE_LISTENER } from '../../src/xds/type-urls.js';
import { IdentityStore } from '../../src/store/identity-store.js';
import { TableIdentityPolicy } from '../../src/xds/policy.js';
import { clusterOf, clusterTransport, publish, shopMesh } from './fixtures.js';

/** An ADS call whose writes complete at once; the test reads what was written and answers. */
class Call extends EventEmitter {
  readonly written: DiscoveryResponse[] = [];
  metadata = { get: () => [] };
  write(b: Uint8Array, cb: () => void): boolean {
    this.written.push(fromBinary(DiscoveryResponseSchema, b));
    cb();
    return true;
  }
  end(): void {}
  getPeer(): string {
    return 'test';
  }
  getPath(): string {
    return '/test';
  }
  request(init: Parameters<typeof create<typeof DiscoveryRequestSchema>>[1]): void {
    this.emit('data', create(DiscoveryRequestSchema, init));
  }
  ack(names: string[]): void {
    const r = this.written.at(-1)!;
    this.request({ typeUrl: r.typeUrl, versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames: names });
  }
}

const N = 400;

/** Lets the push scheduler run its turns (it yields between slices of work) until `done` holds. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let turns = 0; !done(); turns++) {
    if (turns > 10_000) throw new Error(`not within 10,000 turns: ${what}`);
    await new Promise(setImmediate);
  }
}

describe('rollout: ACK counts kept as ACKs arrive', () => {
  test(`with ${N} server and ${N} client proxies, each ACK works out at most two standings and reads no snapshot`, async () => {
    const resources = new ResourceCache();
    const xds = new XdsServer({ store: new IdentityStore('example.org'), resources, policy: new TableIdentityPolicy([]), clock: new ManualClock(), limits: { streamsPerPrincipal: 2 * N } });
    let handlers: Record<string, (call: unknown) => void> = {};
    const fakeServer = { addService: (_d: unknown, impl: Record<string, (call: unknown) => void>) => void (handlers = { ...handlers, ...impl }) };
    xds.addTo(fakeServer as unknown as grpc.Server, { authenticate: () => ({ kind: 'insecure' }) });
    let snapshots = 0;
    const rollout = new RolloutController({
      status: () => {
        snapshots++;
        return xds.status();
      },
      feed: xds,
      resources,
      onEffectiveChange: (m) => publish(resources, m),
    });
    rollout.setDesired(shopMesh({ orders: 'DISABLE', withoutReports: true }));

    const connect = (id: string, cluster: string, typeUrl: string, name: string): Call => {
      const call = new Call();
      handlers['StreamAggregatedResources']!(call);
      call.request({ node: { id, cluster }, typeUrl, resourceNames: [name] });
      return call;
    };
    const servers = Array.from({ length: N }, (_, i) => connect(`orders-${i}`, 'orders', TYPE_LISTENER, 'inbound_9000'));
    const clients = Array.from({ length: N }, (_, i) => connect(`web-${i}`, 'web', TYPE_CLUSTER, 'outbound_orders'));
    const all = [...servers, ...clients];
    await until(() => all.every((c) => c.written.length === 1), 'first responses');
    for (const c of servers) c.ack(['inbound_9000']);
    for (const c of clients) c.ack(['outbound_orders']);
    rollout.statusChanged();
    const port = () => rollout.rolloutStatus().ports[0]!;
    assert.equal(port().done, true);

    rollout.setDesired(shopMesh({ orders: 'STRICT', withoutReports: true }));
    assert.equal(port().inForce, 'PERMISSIVE');
    await until(() => servers.every((c) => c.written.length === 2), 'each server proxy gets the PERMISSIVE listener');

    const before = snapshots;
    for (const [i, s] of servers.entries()) {
      const c0 = rollout.stats().classified;
      s.ack(['inbound_9000']);
      rollout.statusChanged(); // what the control plane does once per turn
      const cost = rollout.stats().classified - c0;
      // The last ACK takes the step: recounting the clients' cluster once (and their pushes) is O(clients).
      assert.ok(i < N - 1 ? cost <= 2 : cost <= 3 * N, `ACK ${i} worked out ${cost} standings`);
      if (i < N - 1) assert.equal(clients[0]!.written.length, 1, 'the clients wait until every server proxy ACKed');
    }
    assert.equal(snapshots, before, 'no status snapshot was read while ACKs arrived');
    assert.equal(rollout.stats().snapshots, 0);
    // The last ACK unlocked the step: every client is pushed its mTLS cluster.
    await until(() => clients.every((c) => c.written.length === 2), 'the mTLS cluster reaches every client');
    for (const c of clients) assert.equal(clusterTransport(clusterOf(c.written.at(-1)!.resources[0]!)), 'mtls');
    for (const [i, c] of clients.entries()) {
      const c0 = rollout.stats().classified;
      c.ack(['outbound_orders']);
      rollout.statusChanged();
      const cost = rollout.stats().classified - c0;
      assert.ok(i < N - 1 ? cost <= 2 : cost <= 3 * N, `client ACK ${i} worked out ${cost} standings`);
    }
    assert.equal(port().inForce, 'STRICT');
    assert.equal(snapshots, before);
  });
});
