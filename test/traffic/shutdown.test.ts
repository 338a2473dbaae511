// Shutting down ends open access-log streams with UNAVAILABLE at once, so proxies flush to another control plane
// and the drain does not wait on them (the drain timer here is on a manual clock that never moves).
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { identifierMessage, sendStream, tcpBatch, unixClient } from './als-client.js';
import { startRunning, WEB_ID } from './fixtures.js';

test('close() ends open access-log streams with UNAVAILABLE', { timeout: 30_000 }, async () => {
  const r = await startRunning({}, {}, { drainMs: 3_600_000 });
  const client = unixClient(r.socket);
  try {
    const s = sendStream(client, [identifierMessage('orders-1', 'orders'), tcpBatch([{ service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.5', spiffeId: WEB_ID }])], { end: false });
    await new Promise<void>((ok) => {
      const off = r.cp.traffic.onChange(() => {
        off();
        ok();
      });
    });
    await r.cp.close();
    const res = await s;
    assert.equal(res.code, grpc.status.UNAVAILABLE);
    assert.match(res.details, /shutting down/);
  } finally {
    client.close();
    rmSync(r.dir, { recursive: true, force: true });
  }
});
