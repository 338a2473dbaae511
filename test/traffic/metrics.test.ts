// /metrics of a running control plane fed real access-log streams, read back with a strict Prometheus text
// parser: connections by service, port and kind; STRICT readiness; held-back ports; refused entries. Labels come
// from the mesh and fixed sets only, never a source address or a caller's SPIFFE ID.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, test } from 'node:test';
import { identifierMessage, sendStream, tcpBatch, unixClient } from './als-client.js';
import { startRunning, WEB_ID, type Running } from './fixtures.js';
import { parsePrometheusText, type Family } from './prom-text.js';

describe('traffic metrics on /metrics', () => {
  let r: Running;
  let client: grpc.Client;
  before(async () => {
    r = await startRunning();
    client = unixClient(r.socket);
  });
  after(async () => {
    client.close();
    await r.close();
  });

  const scrape = async (): Promise<Map<string, Family>> => parsePrometheusText(await (await fetch(`http://${r.admin}/metrics`)).text());
  const value = (f: Family | undefined, labels: Record<string, string>): number | undefined =>
    f?.samples.find((s) => Object.keys(labels).length === Object.keys(s.labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

  test('the parser is strict', () => {
    assert.throws(() => parsePrometheusText('a{b="c} 1\n'), /unterminated/);
    assert.throws(() => parsePrometheusText('a 1\nb 1\na 2\n'), /not contiguous/);
    assert.throws(() => parsePrometheusText('a{x="1"} 1\na{x="1"} 2\n'), /twice/);
    assert.throws(() => parsePrometheusText('# TYPE a countr\n'), /unknown type/);
    assert.throws(() => parsePrometheusText('a 1'), /newline/);
    assert.throws(() => parsePrometheusText('a one\n'), /not a sample value/);
  });

  test('connections by service, port and kind; readiness; held ports; refusals', async () => {
    const res = await sendStream(client, [
      identifierMessage('orders-1', 'orders'),
      tcpBatch([
        { service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.5', spiffeId: WEB_ID },
        { service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.5', spiffeId: WEB_ID },
        { service: 'orders', port: 9000, chain: 'plaintext', from: '10.1.2.3' },
        { service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.9', handshakeFailure: true },
        { service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.6', spiffeId: 'spiffe://example.org/x', rbacDenied: true },
        { service: 'orders', port: 9001, chain: 'mtls', from: '10.0.0.5', spiffeId: WEB_ID },
        { service: 'payments', port: 9200, chain: 'plaintext', from: '10.9.9.9' },
      ]),
    ]);
    assert.equal(res.code, grpc.status.OK);
    r.reload({ orders: 'STRICT' });
    const m = await scrape();

    const conns = m.get('trustplane_traffic_connections_total')!;
    assert.equal(conns.type, 'counter');
    for (const s of conns.samples) assert.deepEqual(Object.keys(s.labels).sort(), ['kind', 'port', 'service']);
    assert.equal(value(conns, { service: 'orders', port: '9000', kind: 'mtls' }), 2);
    assert.equal(value(conns, { service: 'orders', port: '9000', kind: 'plaintext' }), 1);
    assert.equal(value(conns, { service: 'orders', port: '9000', kind: 'handshake_failure' }), 1);
    assert.equal(value(conns, { service: 'orders', port: '9000', kind: 'rbac_denied' }), 1);
    assert.equal(value(conns, { service: 'orders', port: '9001', kind: 'mtls' }), 1);
    assert.equal(value(conns, { service: 'payments', port: '9200', kind: 'plaintext' }), 0, 'refused: the principal may not hold payments');
    assert.deepEqual(new Set(conns.samples.map((s) => s.labels['kind'])), new Set(['mtls', 'plaintext', 'handshake_failure', 'rbac_denied']));
    assert.deepEqual(new Set(conns.samples.map((s) => `${s.labels['service']}:${s.labels['port']}`)), new Set(['orders:9000', 'orders:9001', 'web:9100', 'payments:9200', 'greeter:50051']), 'one series per declared port: bounded by the mesh');

    const ready = m.get('trustplane_strict_ready')!;
    assert.equal(ready.type, 'gauge');
    assert.equal(value(ready, { service: 'orders', port: '9000' }), 0);
    assert.equal(value(ready, { service: 'orders', port: '9001' }), 1);
    assert.equal(value(ready, { service: 'greeter', port: '50051' }), 0, 'no evidence is not ready');
    assert.equal(value(m.get('trustplane_strict_held'), { service: 'orders', port: '9000' }), 1);
    assert.equal(value(m.get('trustplane_strict_held'), { service: 'orders', port: '9001' }), 0);
    assert.equal(value(m.get('trustplane_strict_held_ports'), {}), 1);
    assert.equal(value(m.get('trustplane_access_log_entries_total'), {}), 6);
    assert.equal(value(m.get('trustplane_access_log_entries_refused_total'), { reason: 'not_holder' }), 1);
    assert.equal(value(m.get('trustplane_access_log_streams'), {}), 0, 'the stream ended');

    for (const f of m.values()) {
      if (!/^trustplane_(traffic|strict|access_log)_/.test(f.name)) continue;
      for (const s of f.samples) {
        for (const v of Object.values(s.labels)) assert.doesNotMatch(v, /^\d+\.\d+\.\d+\.\d+$|^spiffe:/, `${f.name} carries no address or SPIFFE ID`);
      }
    }
  });
});
