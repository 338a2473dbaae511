// Real StreamAccessLogs streams into a running control plane: counts per port and kind, refusals, the sliding
// window and the STRICT gate on a manual clock (held, then released once plaintext leaves the window; force at
// once), rollout status and strict-check through the CLI.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, test } from 'node:test';
import { cli } from '../cli/run.js';
import { httpBatch, identifierMessage, sendStream, tcpBatch, unixClient, type Conn } from './als-client.js';
import { REPORTS_ID, startRunning, WEB_ID, type Running } from './fixtures.js';

const WINDOW_MS = 48 * 60_000; // 48 buckets of one minute
const INTRUDER = 'spiffe://example.org/ns/x/sa/intruder';

const rep = (n: number, c: Conn): Conn[] => Array.from({ length: n }, () => c);

describe('traffic evidence and the STRICT gate, over real access-log streams', () => {
  let r: Running;
  let client: grpc.Client;

  before(async () => {
    r = await startRunning({}, { windowMs: WINDOW_MS });
    client = unixClient(r.socket);
  });
  after(async () => {
    client.close();
    await r.close();
  });

  const rollout = async () => (await (await fetch(`http://${r.admin}/rollout`, { headers: r.operator })).json()) as { ports: Array<{ service: string; port: number; asked: string; inForce: string; waitingFor: string[]; strictGate?: { state: string; readiness: string } }> };
  const port = async (service: string, p: number) => (await rollout()).ports.find((x) => x.service === service && x.port === p)!;

  test('counts mTLS by caller, plaintext by source, handshake failures and RBAC denials per port; refuses ports the principal may not hold', async () => {
    const res = await sendStream(client, [
      identifierMessage('orders-1', 'orders'),
      tcpBatch([
        ...rep(3, { service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.5', spiffeId: WEB_ID }),
        ...rep(2, { service: 'orders', port: 9000, chain: 'plaintext', from: '10.1.2.3' }),
        { service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.9', handshakeFailure: true },
        { service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.6', spiffeId: INTRUDER, rbacDenied: true },
        ...rep(4, { service: 'payments', port: 9200, chain: 'plaintext', from: '10.9.9.9' }),
        { service: 'orders', port: 9999, chain: 'plaintext', from: '10.9.9.8' },
      ]),
      httpBatch([
        ...rep(2, { service: 'orders', port: 9001, chain: 'mtls', from: '10.0.0.5', spiffeId: WEB_ID }),
        { service: 'orders', port: 9001, chain: 'mtls', from: '10.0.0.5', spiffeId: REPORTS_ID, rbacDenied: true },
      ]),
    ]);
    assert.deepEqual(res, { code: grpc.status.OK, details: '' });

    const e = r.cp.traffic.port('orders', 9000)!;
    assert.deepEqual(e.window, { mtls: 3, plaintext: 2, handshakeFailures: 1, rbacDenied: 1 });
    assert.deepEqual(e.totals, e.window);
    assert.deepEqual(e.mtlsCallers.map((c) => [c.source, c.count, c.lastSeen]), [[WEB_ID, 3, new Date(r.clock.now()).toISOString()]]);
    assert.deepEqual(e.plaintextSources.map((c) => [c.source, c.count]), [['10.1.2.3', 2]]);
    assert.equal(e.readiness, 'not_ready');
    assert.match(e.readinessReason, /plaintext in the last 48 min from 10\.1\.2\.3 \(2, last seen 2026-06-01T12:00:00\.000Z\)/);
    assert.deepEqual(r.cp.traffic.port('orders', 9001)!.window, { mtls: 2, plaintext: 0, handshakeFailures: 0, rbacDenied: 1 });
    assert.equal(r.cp.traffic.port('orders', 9001)!.readiness, 'ready');
    assert.deepEqual(r.cp.traffic.port('payments', 9200)!.window, { mtls: 0, plaintext: 0, handshakeFailures: 0, rbacDenied: 0 }, 'entries for a service the principal may not hold are refused');
    assert.equal(r.cp.traffic.port('greeter', 50051)!.readiness, 'no_evidence', 'proxyless gRPC: no evidence, never ready');

    const logs = r.logs().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const refused = logs.filter((l) => l['event'] === 'access_log_entries_refused');
    assert.deepEqual(refused.map((l) => [l['reason'], l['service'], l['port']]), [['not_holder', 'payments', undefined], ['unknown_port', 'orders', 9999]], 'each refusal logged once per stream, not per entry');
    assert.ok(!logs.some((l) => l['level'] === 30 && JSON.stringify(l).includes('10.1.2.3')), 'no source address at info level while only counting');
  });

  test('STRICT asked on a port with plaintext in the window is held at PERMISSIVE, with the sources, in /rollout and `rollout status`', async () => {
    r.reload({ orders: 'STRICT' });
    const held = await port('orders', 9000);
    assert.deepEqual([held.asked, held.inForce, held.strictGate?.state], ['STRICT', 'PERMISSIVE', 'held']);
    assert.match(held.waitingFor[0]!, /^held at PERMISSIVE by the STRICT gate: plaintext in the last 48 min from 10\.1\.2\.3 \(2, last seen 2026-06-01T12:00:00\.000Z\)$/);
    const ready = await port('orders', 9001);
    assert.deepEqual([ready.asked, ready.inForce, ready.strictGate?.state], ['STRICT', 'STRICT', 'allowed'], 'a ready port goes STRICT');

    const text = await cli('rollout', 'status', '--admin', r.admin, '--data-dir', r.dataDir);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^orders\s+9000\s+STRICT\s+PERMISSIVE\s+.*held at PERMISSIVE by the STRICT gate: plaintext .* from 10\.1\.2\.3/m);
    const held1 = JSON.parse(r.logs().trim().split('\n').reverse().find((l) => l.includes('"strict_gate_held"'))!) as Record<string, unknown>;
    assert.deepEqual([held1['service'], held1['port']], ['orders', 9000]);
  });

  test('released once plaintext stops and the window passes (mTLS still seen)', async () => {
    r.clock.advance(WINDOW_MS / 2);
    await sendStream(client, [tcpBatch(rep(5, { service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.5', spiffeId: WEB_ID }), { nodeId: 'orders-1', cluster: 'orders' })]);
    assert.equal((await port('orders', 9000)).inForce, 'PERMISSIVE', 'plaintext is still in the window');
    r.clock.advance(WINDOW_MS / 2 - 60_000);
    assert.equal((await port('orders', 9000)).inForce, 'PERMISSIVE', 'one minute short of the window: still held');
    r.clock.advance(2 * 60_000);
    await new Promise((ok) => setImmediate(ok));
    const released = await port('orders', 9000);
    assert.deepEqual([released.asked, released.inForce, released.strictGate?.state], ['STRICT', 'STRICT', 'allowed']);
    assert.deepEqual(r.cp.traffic.port('orders', 9000)!.window, { mtls: 5, plaintext: 0, handshakeFailures: 0, rbacDenied: 0 });
    assert.deepEqual(r.cp.traffic.port('orders', 9000)!.totals, { mtls: 8, plaintext: 2, handshakeFailures: 1, rbacDenied: 1 });
    assert.ok(r.logs().includes('"event":"strict_gate_released","service":"orders","port":9000'));
  });

  test('once STRICT, plaintext attempts the listener refuses do not re-open the port', async () => {
    await sendStream(client, [tcpBatch([{ service: 'orders', port: 9000, mode: 'STRICT', from: '10.1.2.4' }], { nodeId: 'orders-1', cluster: 'orders' })]);
    await new Promise((ok) => setImmediate(ok));
    assert.deepEqual(r.cp.traffic.port('orders', 9000)!.plaintextSources.map((s) => s.source), ['10.1.2.4'], 'counted as plaintext (no chain matched)');
    assert.equal((await port('orders', 9000)).inForce, 'STRICT');
  });

  test('force: true releases a held port at once and says so', async () => {
    await sendStream(client, [tcpBatch([{ service: 'web', port: 9100, chain: 'plaintext', from: '192.168.7.7' }], { nodeId: 'web-1', cluster: 'web' })]);
    r.reload({ orders: 'STRICT', web: 'STRICT' });
    assert.equal((await port('web', 9100)).inForce, 'PERMISSIVE');
    r.reload({ orders: 'STRICT', web: 'STRICT', webForce: true });
    const forced = await port('web', 9100);
    assert.deepEqual([forced.asked, forced.inForce, forced.strictGate?.state], ['STRICT', 'STRICT', 'forced']);
    assert.match(forced.waitingFor.join('\n'), /STRICT forced \(force: true\) over the STRICT gate: plaintext in the last 48 min from 192\.168\.7\.7/);
    assert.ok(r.logs().includes('"event":"strict_gate_forced","service":"web","port":9100'));
    const metrics = await (await fetch(`http://${r.admin}/metrics`)).text();
    assert.match(metrics, /^trustplane_strict_forced\{service="web",port="9100"\} 1$/m);
  });

  test('proxyless gRPC (no evidence) is held with "no evidence", never taken as ready', async () => {
    r.reload({ orders: 'STRICT', web: 'STRICT', webForce: true, greeter: 'STRICT' });
    const g = await port('greeter', 50051);
    assert.deepEqual([g.inForce, g.strictGate?.state, g.strictGate?.readiness], ['PERMISSIVE', 'held', 'no_evidence']);
    assert.match(g.waitingFor[0]!, /no evidence: this target sends no access logs/);
  });

  test('strict-check lists per port the callers STRICT would break now', async () => {
    await sendStream(client, [tcpBatch([{ service: 'orders', port: 9000, chain: 'mtls', from: '10.0.0.7', spiffeId: REPORTS_ID }], { nodeId: 'orders-1', cluster: 'orders' })]);
    const all = await cli('strict-check', '--admin', r.admin, '--data-dir', r.dataDir, '--json');
    assert.equal(all.code, 1, 'something would break');
    const report = JSON.parse(all.stdout) as { ports: Array<{ service: string; port: number; breaks: boolean; plaintextSources: { source: string }[]; deniedCallers: { source: string; why: string }[]; readiness: string }> };
    const orders = report.ports.find((p) => p.service === 'orders' && p.port === 9000)!;
    assert.deepEqual(orders.plaintextSources.map((s) => s.source), ['10.1.2.4']);
    assert.deepEqual(orders.deniedCallers.map((c) => [c.source, c.why]), [[REPORTS_ID, 'mtls_not_allowed']], 'the intruder left the window; reports is not in allowedCallers (service: web)');
    const web = report.ports.find((p) => p.service === 'web')!;
    assert.deepEqual(web.plaintextSources.map((s) => s.source), ['192.168.7.7']);
    assert.equal((web as unknown as { force: boolean }).force, true, 'forced ports say so');
    assert.match((await cli('strict-check', '--admin', r.admin, '--data-dir', r.dataDir, '--service', 'web')).stdout, /^web\s+9100\s+STRICT \(force\)\s+not ready\s+plaintext from 192\.168\.7\.7/m);
    assert.equal(report.ports.find((p) => p.service === 'greeter')!.readiness, 'no_evidence');
    const one = await cli('strict-check', '--admin', r.admin, '--data-dir', r.dataDir, '--service', 'orders');
    assert.equal(one.code, 1);
    assert.match(one.stdout, /^orders\s+9000\s+STRICT\s+not ready\s+plaintext from 10\.1\.2\.4: 1 connection, last seen/m);
    assert.match(one.stdout, /^\s+spiffe:\/\/example\.org\/ns\/batch\/sa\/reports: 1 mTLS connection, not in allowedCallers/m);
    assert.doesNotMatch(one.stdout, /^web/m);
    const payments = await cli('strict-check', '--admin', r.admin, '--data-dir', r.dataDir, '--service', 'payments');
    assert.equal(payments.code, 0, 'nothing seen would break');
    assert.match(payments.stdout, /^payments\s+9200\s+PERMISSIVE\s+not ready\s+nothing seen \(no mTLS connection seen in the last 48 min\)$/m);
    const none = await cli('strict-check', '--admin', r.admin, '--data-dir', r.dataDir, '--service', 'nope');
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /STRICT_CHECK_NO_SERVICE|no service "nope"/);
  });
});
