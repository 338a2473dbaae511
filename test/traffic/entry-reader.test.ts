// The receiver's reader agrees with a full fromBinary of the same bytes on every field the evidence reads, for
// TCP and HTTP batches, and refuses bytes that are not a message.
import assert from 'node:assert/strict';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { test } from 'node:test';
import { AddressSchema, PipeSchema } from '#gen/envoy/config/core/v3/address_pb';
import { StreamAccessLogsMessageSchema } from '#gen/envoy/service/accesslog/v3/als_pb';
import type { AccessLogCommon } from '#gen/envoy/data/accesslog/v3/accesslog_pb';
import { readAccessLogMessage } from '../../src/traffic/entry-reader.js';
import { common, httpBatch, tcpBatch, type Conn } from './als-client.js';

const conns: Conn[] = [
  { service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.5', spiffeId: 'spiffe://example.org/a' },
  { service: 'orders', port: 9000, chain: 'plaintext', from: '2001:db8::7' },
  { service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.9', handshakeFailure: true },
  { service: 'orders', port: 9001, chain: 'mtls', from: '10.0.0.6', spiffeId: 'spiffe://example.org/b', rbacDenied: true },
  { service: 'orders', port: 9001, from: '10.0.0.8' },
];

function expected(c: AccessLogCommon, details = '') {
  const ip = (a: AccessLogCommon['downstreamRemoteAddress']) => (a?.address.case === 'socketAddress' ? a.address.value.address : a?.address.case === 'pipe' ? 'unix' : '');
  const uri = c.tlsProperties?.peerCertificateProperties?.subjectAltName.find((s) => s.san.case === 'uri' && s.san.value.startsWith('spiffe://'))?.san.value;
  return {
    tags: { ...c.customTags },
    source: ip(c.downstreamDirectRemoteAddress) || ip(c.downstreamRemoteAddress),
    tls: c.tlsProperties !== undefined,
    peerSpiffeId: (uri as string | undefined) ?? '',
    connectionTerminationDetails: c.connectionTerminationDetails,
    downstreamTransportFailureReason: c.downstreamTransportFailureReason,
    responseCodeDetails: details,
    noFilterChain: c.responseFlags?.noFilterConfigFound ?? false,
  };
}

test('TCP and HTTP batches read as fromBinary reads them', () => {
  for (const bytes of [tcpBatch(conns, { nodeId: 'n1', cluster: 'orders' }), httpBatch(conns)]) {
    const full = fromBinary(StreamAccessLogsMessageSchema, bytes);
    const read = readAccessLogMessage(bytes);
    assert.equal(read.identifier?.node?.id, full.identifier?.node?.id);
    assert.equal(read.identifier?.logName, full.identifier?.logName);
    const want =
      full.logEntries.case === 'tcpLogs'
        ? full.logEntries.value.logEntry.map((e) => expected(e.commonProperties!))
        : full.logEntries.value!.logEntry.map((e) => expected(e.commonProperties!, e.response?.responseCodeDetails));
    assert.deepEqual(read.entries, want);
  }
});

test('a Unix-socket peer reads as "unix"; fields the reader does not need are skipped', () => {
  const c = common({ service: 'orders', port: 9000, chain: 'plaintext', from: '10.0.0.1' });
  c.downstreamDirectRemoteAddress = create(AddressSchema, { address: { case: 'pipe', value: create(PipeSchema, { path: '/run/app.sock' }) } });
  c.routeName = 'r';
  c.upstreamCluster = 'cluster';
  const bytes = toBinary(StreamAccessLogsMessageSchema, create(StreamAccessLogsMessageSchema, { logEntries: { case: 'tcpLogs', value: { logEntry: [{ commonProperties: c }] } } }));
  assert.equal(readAccessLogMessage(bytes).entries[0]!.source, 'unix');
});

test('bytes that are not a message throw', () => {
  assert.throws(() => readAccessLogMessage(Uint8Array.of(0x1a, 0x05, 0x0a)));
  assert.throws(() => readAccessLogMessage(Uint8Array.of(0x0a, 0xff, 0xff, 0xff)));
});
