// A proxy that stops reading: driven through the real handlers with a stand-in call whose write callbacks the
// test releases by hand, so "the proxy is not reading" is exact rather than timed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { create, fromBinary } from '@bufbuild/protobuf';
import { DiscoveryRequestSchema, DiscoveryResponseSchema } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { ManualClock } from '../../../src/clock.js';
import { ResourceCache } from '../../../src/xds/cache/resource-cache.js';
import { XdsServer } from '../../../src/xds/server/server.js';
import { TYPE_SECRET } from '../../../src/xds/type-urls.js';
import { bundleOf, makeCa, populatedStore, pki, TD } from './fixtures.js';
import { defaultPolicy } from './harness.js';

class StalledCall extends EventEmitter {
  readonly written: Buffer[] = [];
  readonly callbacks: (() => void)[] = [];
  writeReturns = true;
  metadata = { get: () => [] };
  write(b: Uint8Array, cb: () => void): boolean {
    this.written.push(Buffer.from(b));
    this.callbacks.push(cb);
    return this.writeReturns;
  }
  end(): void {}
  getPeer(): string {
    return 'test';
  }
  getPath(): string {
    return '/test';
  }
}

async function setup() {
  const store = await populatedStore();
  const xds = new XdsServer({ store, resources: new ResourceCache(), policy: defaultPolicy, clock: new ManualClock() });
  let handlers: Record<string, (call: unknown) => void> = {};
  const fakeServer = { addService: (_d: unknown, impl: Record<string, (call: unknown) => void>) => void (handlers = { ...handlers, ...impl }) };
  xds.addTo(fakeServer as unknown as grpc.Server, { authenticate: () => ({ kind: 'insecure' }) });
  const call = new StalledCall();
  handlers['StreamSecrets']!(call);
  call.emit('data', create(DiscoveryRequestSchema, { node: { id: 'slow' }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] }));
  return { store, xds, call };
}

describe('slow consumers', () => {
  test('while a response is in flight, any number of changes coalesce into one push of the latest state', async () => {
    const { store, call } = await setup();
    assert.equal(call.written.length, 1);
    const p = await pki();
    let latest = bundleOf(p.ca);
    for (let i = 0; i < 20; i++) {
      latest = bundleOf(await makeCa(TD), p.ca);
      store.setBundle(latest);
    }
    assert.equal(call.written.length, 1, 'nothing more is written while the first is unflushed');
    call.callbacks.shift()!();
    assert.equal(call.written.length, 2, 'one coalesced push');
    const r = fromBinary(DiscoveryResponseSchema, call.written[1]!);
    assert.ok(Buffer.from(r.resources[0]!.value).toString('latin1').includes(latest.x509Authorities[0]!.toString().split('\n')[1]!), 'it carries the latest bundle');
    call.callbacks.shift()!();
    assert.equal(call.written.length, 2, 'nothing left to send');
  });

  test('a write that reports a full buffer waits for drain before the next one', async () => {
    const { store, call } = await setup();
    call.writeReturns = false;
    const p = await pki();
    store.setBundle(bundleOf(await makeCa(TD), p.ca));
    call.callbacks.shift()!();
    assert.equal(call.written.length, 2);
    store.setBundle(bundleOf(await makeCa(TD), p.ca));
    call.callbacks.shift()!();
    assert.equal(call.written.length, 2, 'held until drain');
    call.writeReturns = true;
    call.emit('drain');
    assert.equal(call.written.length, 3);
  });
});
