// The STRICT gate composes with the ACK-ordered rollout: the gate decides whether STRICT is allowed, the rollout
// when. A real ADS stream stands for the server's Envoy (it withholds its ACK), real access-log streams feed the
// evidence, and the clock is manual.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, test } from 'node:test';
import { listenerMode } from '../rollout/fixtures.js';
import { DeltaListenerProxy } from '../rollout/proxies.js';
import { XdsTestClient } from '../xds/protocol/client.js';
import { sendStream, tcpBatch, unixClient } from './als-client.js';
import { startRunning, WEB_ID, type Running } from './fixtures.js';

const WINDOW_MS = 48 * 60_000;

describe('STRICT gate and rollout', () => {
  let r: Running;
  let als: grpc.Client;
  let xds: XdsTestClient;
  let proxy: DeltaListenerProxy;
  before(async () => {
    r = await startRunning({}, { windowMs: WINDOW_MS });
    als = unixClient(r.socket);
    xds = new XdsTestClient(`unix://${r.socket}`);
    proxy = new DeltaListenerProxy(xds, 'orders-1', 'orders', 'inbound_9000');
  });
  after(async () => {
    proxy.close();
    xds.close();
    als.close();
    await r.close();
  });

  const port = async () => {
    const doc = (await (await fetch(`http://${r.admin}/rollout`, { headers: r.operator })).json()) as { ports: Array<{ service: string; port: number; asked: string; inForce: string; waitingFor: string[]; strictGate?: { state: string } }> };
    return doc.ports.find((p) => p.service === 'orders' && p.port === 9000)!;
  };

  test('held while plaintext is in the window; once released, STRICT waits for the proxy to ACK the PERMISSIVE listener', async () => {
    assert.equal(listenerMode(await proxy.nextListener()), 'PERMISSIVE', 'the first description, in force at once; not ACKed yet');
    await sendStream(als, [tcpBatch([{ service: 'orders', port: 9000, chain: 'plaintext', from: '10.1.2.3' }, { service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.5', spiffeId: WEB_ID }], { nodeId: 'orders-1', cluster: 'orders' })]);
    r.reload({ orders: 'STRICT' });
    await proxy.settle(); // nothing pushed: the gate hands the rollout PERMISSIVE, as before
    let p = await port();
    assert.deepEqual([p.asked, p.inForce, p.strictGate?.state], ['STRICT', 'PERMISSIVE', 'held']);
    assert.match(p.waitingFor[0]!, /^held at PERMISSIVE by the STRICT gate: plaintext .* from 10\.1\.2\.3/);

    r.clock.advance(WINDOW_MS / 2);
    await sendStream(als, [tcpBatch([{ service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.5', spiffeId: WEB_ID }], { nodeId: 'orders-1', cluster: 'orders' })]);
    r.clock.advance(WINDOW_MS / 2 + 60_000);
    await new Promise((ok) => setImmediate(ok));
    p = await port();
    assert.deepEqual([p.asked, p.inForce, p.strictGate?.state], ['STRICT', 'PERMISSIVE', 'allowed'], 'the gate allows STRICT; the rollout has not taken the step');
    assert.deepEqual(p.waitingFor, ['waiting for 1 of 1 proxies of orders to ACK listener inbound_9000 (PERMISSIVE)']);
    await proxy.settle();

    proxy.ack();
    assert.equal(listenerMode(await proxy.nextListener()), 'STRICT', 'STRICT is pushed once the proxy ACKed');
    proxy.ack();
    await proxy.settle();
    p = await port();
    assert.deepEqual([p.inForce, p.waitingFor], ['STRICT', []]);
  });
});
