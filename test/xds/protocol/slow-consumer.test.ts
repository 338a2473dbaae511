// A proxy that stops reading, over a real gRPC connection: once HTTP/2 flow control pushes back, the server holds at
// most one response in flight and folds every later change into one pending push, so what reaches the proxy when it
// reads again is far fewer responses than changes, the last one carrying the latest state.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type * as grpc from '@grpc/grpc-js';
import type { DiscoveryResponse } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { PATHS } from './client.js';
import { startHarness, ORDERS_NODE, type Harness } from './harness.js';
import { bundleOf, makeCa, pki, TD, type TestCa } from './fixtures.js';
import { anyBytes } from './helpers.js';
import { TYPE_SECRET } from '../../../src/xds/type-urls.js';

let h: Harness;
let cas: TestCa[];
before(async () => {
  h = await startHarness();
  const p = await pki();
  // Big bundles (tens of KB per response), so that flow control, not socket buffers, decides.
  cas = [p.ca, ...(await Promise.all(Array.from({ length: 60 }, () => makeCa(TD))))];
});
after(() => h.close());

const certificatesIn = (r: DiscoveryResponse): number => anyBytes(r).join('').split('-----BEGIN CERTIFICATE-----').length - 1;

test('a proxy that stops reading gets a bounded, coalesced backlog ending in the latest bundle', async () => {
  const s = h.client.sotw(PATHS.StreamSecrets, ORDERS_NODE);
  s.send({ node: { id: 'slow-1' }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
  const r1 = await s.next();
  s.ack(r1, ['ROOTCA']);
  const call = (s as unknown as { call: grpc.ClientDuplexStream<Uint8Array, Buffer> }).call;
  call.pause();

  // 400 changes alternating between every CA and every CA but the last, then a final state unlike both.
  const changes = 400;
  const final = cas.slice(0, -2);
  const pushedBefore = h.metrics.get('pushed:Secret');
  // A turn of the event loop after each change lets every write that can complete complete: without the pause, each
  // change would reach the proxy; with it, writes stop once the flow-control window and buffers are full.
  for (let i = 1; i <= changes; i++) {
    h.store.setBundle(bundleOf(...(i % 2 === 0 ? cas : cas.slice(0, -1))));
    await new Promise((resolve) => setImmediate(resolve));
  }
  h.store.setBundle(bundleOf(...final));
  const written = h.metrics.get('pushed:Secret') - pushedBefore;
  assert.ok(written < changes / 4, `${written} of ${changes} changes were written while the proxy was not reading`);

  call.resume();
  let received = 0;
  let last = r1;
  // Reading lets the pending push out: read until the final state arrives (the queue gives up after 10 s).
  while (certificatesIn(last) !== final.length) {
    last = await s.next();
    received++;
    s.ack(last, ['ROOTCA']);
  }
  assert.ok(received < changes / 4, `the proxy read ${received} responses for ${changes + 1} changes`);
  s.end();
});
