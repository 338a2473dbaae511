// A principal over its entries per second has its stream paused (gRPC flow control slows the proxy); nothing is
// dropped, and reading resumes when the budget is back, on the control plane's clock.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { create, toBinary } from '@bufbuild/protobuf';
import { after, before, describe, test } from 'node:test';
import { ClientStatusRequestSchema } from '#gen/envoy/service/status/v3/csds_pb';
import { identifierMessage, sendStream, tcpBatch, unixClient, type Conn } from './als-client.js';
import { startRunning, WEB_ID, type Running } from './fixtures.js';

const mtls: Conn = { service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.5', spiffeId: WEB_ID };
const ten = Array.from({ length: 10 }, () => mtls);

describe('access-log rate per principal', () => {
  let r: Running;
  let client: grpc.Client;
  before(async () => {
    r = await startRunning({}, { limits: { maxEntriesPerSecond: 10 } });
    client = unixClient(r.socket);
  });
  after(async () => {
    client.close();
    await r.close();
  });

  const count = (): number => r.cp.traffic.port('orders', 9000)!.totals.mtls;
  const counted = (n: number): Promise<void> =>
    new Promise((ok) => {
      if (count() === n) return ok();
      const off = r.cp.traffic.onChange(() => {
        if (count() === n) {
          off();
          ok();
        }
      });
    });
  const roundTrip = (): Promise<void> =>
    new Promise((ok, fail) =>
      client.makeUnaryRequest('/envoy.service.status.v3.ClientStatusDiscoveryService/FetchClientStatus', (m: Uint8Array) => Buffer.from(m), (b: Buffer) => b, toBinary(ClientStatusRequestSchema, create(ClientStatusRequestSchema, {})), (err) => (err ? fail(err) : ok())),
    );

  test('over the rate the stream waits for the budget; every entry is counted in the end', async () => {
    const s = sendStream(client, [identifierMessage('orders-1', 'orders'), tcpBatch(ten), tcpBatch(ten), tcpBatch(ten)], { end: false });
    await counted(20); // the first ten within budget, the second ten into debt: then the stream pauses
    await roundTrip();
    assert.equal(count(), 20, 'the third batch waits');
    r.clock.advance(1000);
    await counted(30);
    s.call.end();
    r.clock.advance(1000);
    assert.equal((await s).code, grpc.status.OK);
    assert.equal(count(), 30, 'nothing dropped');
    const metrics = await (await fetch(`http://${r.admin}/metrics`)).text();
    assert.match(metrics, /^trustplane_access_log_throttled_total 2$/m);
  });
});
