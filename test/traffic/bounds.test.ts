// What a proxy sends on an access-log stream is bounded and authenticated: message size, entries per batch,
// streams per principal, the identifier first; over mTLS TCP a node's entries count only for the services its
// node SVID may hold. Each refusal ends the stream with a status that says why and counts nothing.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { create, toBinary } from '@bufbuild/protobuf';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ClientStatusRequestSchema } from '#gen/envoy/service/status/v3/csds_pb';
import { NodeAttestationClient, spiffeChannelCredentials } from '../../src/xds/node-attest/client.js';
import { createJoinToken } from '../../src/xds/node-attest/token-command.js';
import { identifierMessage, sendStream, tcpBatch, unixClient, type Conn } from './als-client.js';
import { startRunning, WEB_ID, type Running } from './fixtures.js';

const mtls: Conn = { service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.5', spiffeId: WEB_ID };
const rep = (n: number, c: Conn): Conn[] => Array.from({ length: n }, () => c);

describe('access-log streams: bounds and authentication', () => {
  let r: Running;
  let client: grpc.Client;
  before(async () => {
    r = await startRunning({}, { limits: { maxMessageBytes: 2000, maxEntriesPerBatch: 8, maxStreamsPerPrincipal: 2 } }, { tcp: true, start: Date.now() });
    client = unixClient(r.socket);
  });
  after(async () => {
    client.close();
    await r.close();
  });
  const mtlsCount = (): number => r.cp.traffic.port('orders', 9000)!.totals.mtls;

  test('a message over the size limit ends the stream with RESOURCE_EXHAUSTED and counts nothing', async () => {
    const big = tcpBatch(rep(8, { ...mtls, spiffeId: `${WEB_ID}/${'x'.repeat(300)}` }));
    assert.ok(big.length > 2000);
    const res = await sendStream(client, [identifierMessage('orders-1', 'orders'), tcpBatch([mtls]), big, tcpBatch([mtls])]);
    assert.equal(res.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(res.details, new RegExp(`a message of ${big.length} bytes is over the limit of 2000`));
    assert.equal(mtlsCount(), 1, 'the batch before counts; the one after is not read');
  });

  test('a batch over the entry limit is refused whole', async () => {
    const res = await sendStream(client, [identifierMessage('orders-1', 'orders'), tcpBatch(rep(9, mtls))]);
    assert.deepEqual(res, { code: grpc.status.RESOURCE_EXHAUSTED, details: 'a batch of 9 entries is over the limit of 8' });
    assert.equal(mtlsCount(), 1);
  });

  test('the first message must carry the identifier; bytes that are no message are refused', async () => {
    const first = await sendStream(client, [tcpBatch([mtls])]);
    assert.equal(first.code, grpc.status.INVALID_ARGUMENT);
    assert.match(first.details, /first message of an access-log stream must carry the identifier \{node, log_name\}/);
    const garbage = await sendStream(client, [identifierMessage('orders-1', 'orders'), Uint8Array.of(0x0a, 0xff, 0xff, 0xff)]);
    assert.equal(garbage.code, grpc.status.INVALID_ARGUMENT);
    assert.match(garbage.details, /not a StreamAccessLogsMessage/);
    assert.equal(mtlsCount(), 1);
  });

  test('at most maxStreamsPerPrincipal open streams per principal; a closed one frees its place', async () => {
    const a = sendStream(client, [identifierMessage('orders-1', 'orders')], { end: false });
    const b = sendStream(client, [identifierMessage('orders-1', 'orders')], { end: false });
    // A unary call on the same connection completes after the server has taken the two streams opened before it.
    await new Promise<void>((ok, fail) =>
      client.makeUnaryRequest('/envoy.service.status.v3.ClientStatusDiscoveryService/FetchClientStatus', (m: Uint8Array) => Buffer.from(m), (b2: Buffer) => b2, toBinary(ClientStatusRequestSchema, create(ClientStatusRequestSchema, {})), (err) => (err ? fail(err) : ok())),
    );
    const c = await sendStream(client, [identifierMessage('orders-1', 'orders')]);
    assert.equal(c.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(c.details, /already has 2 access-log streams open \(limit 2\)/);
    a.call.end();
    assert.equal((await a).code, grpc.status.OK);
    const d = await sendStream(client, [identifierMessage('orders-1', 'orders'), tcpBatch([mtls])]);
    assert.equal(d.code, grpc.status.OK);
    b.call.end();
    await b;
    assert.equal(mtlsCount(), 2);
    assert.match(r.logs(), /"event":"access_log_stream_rejected".*"reason":"too_many_streams"/);
  });

  test('made-up service names are refused, counted, and logged at most 32 times per stream', async () => {
    const before = r.logs().split('\n').filter((l) => l.includes('"event":"access_log_entries_refused"')).length;
    const made: Conn[] = Array.from({ length: 8 }, (_, i) => ({ ...mtls, service: `made-up-${i}` }));
    const batches = Array.from({ length: 10 }, (_, b) => tcpBatch(made.map((c) => ({ ...c, service: `${c.service}-${b}` }))));
    const res = await sendStream(client, [identifierMessage('orders-1', 'orders'), ...batches]);
    assert.equal(res.code, grpc.status.OK);
    const after = r.logs().split('\n').filter((l) => l.includes('"event":"access_log_entries_refused"')).length;
    assert.equal(after - before, 32, '80 distinct made-up services, 32 log lines');
    const metrics = await (await fetch(`http://${r.admin}/metrics`)).text();
    assert.match(metrics, /^trustplane_access_log_entries_refused_total\{reason="not_holder"\} 80$/m);
  });

  test('over mTLS TCP, a node reports only the services its node SVID may hold', async () => {
    const { token } = await createJoinToken({ dataDir: join(r.dir, 'data'), node: 'orders-1' });
    const bundlePem = r.cp.ca.bundle().toPem();
    const serverSpiffeId = r.cp.serverSpiffeId;
    const attest = new NodeAttestationClient(r.cp.tcpAddress!, spiffeChannelCredentials({ bundlePem, serverSpiffeId }));
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const svid = await attest.attest({ token, publicKeyPem: publicKey });
    attest.close();
    const tcp = new grpc.Client(r.cp.tcpAddress!, spiffeChannelCredentials({ bundlePem, serverSpiffeId, certChainPem: svid.certChainPem, privateKeyPem: privateKey }));
    try {
      const res = await sendStream(tcp, [identifierMessage('orders-1', 'orders'), tcpBatch([mtls, { service: 'web', port: 9100, chain: 'plaintext', from: '10.3.3.3' }])]);
      assert.equal(res.code, grpc.status.OK);
    } finally {
      tcp.close();
    }
    assert.equal(mtlsCount(), 3, 'node:orders-1 may hold orders');
    assert.equal(r.cp.traffic.port('web', 9100)!.totals.plaintext, 0, 'node:orders-1 may not hold web');
    assert.match(r.logs(), /"event":"access_log_entries_refused","principal":"node:orders-1","nodeId":"orders-1","logName":"trustplane","service":"web","reason":"not_holder"/);

    const anonymous = new grpc.Client(r.cp.tcpAddress!, spiffeChannelCredentials({ bundlePem, serverSpiffeId }));
    try {
      const res = await sendStream(anonymous, [identifierMessage('x', 'orders'), tcpBatch([mtls])]);
      assert.equal(res.code, grpc.status.PERMISSION_DENIED, 'no node SVID, no principal');
    } finally {
      anonymous.close();
    }
    assert.equal(mtlsCount(), 3);
  });
});
