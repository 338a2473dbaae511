// The dashboard document, built by the pure function from real parts: SVIDs and bundles from the embedded CA (read
// back with openssl), proxy status from the xDS server's own records, rollout status as the controller reports it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { ManualClock } from '../../src/clock.js';
import { buildDashboard, EXPIRING_WITHIN_MS, readinessOf, SOURCES_SHOWN, type DashboardInputs } from '../../src/dashboard/model.js';
import type { RolloutStatus } from '../../src/rollout/status.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import type { PortEvidence } from '../../src/traffic/evidence-view.js';
import { ProxyRecord, ProxyStatusRegistry } from '../../src/xds/status/proxy-status.js';
import { TYPE_CLUSTER, TYPE_LISTENER, TYPE_SECRET } from '../../src/xds/type-urls.js';
import { openssl, tempDir, writePem } from '../ca/helpers.js';

const HOUR = 3_600_000;
const WINDOW = 24 * HOUR;
const T0 = Date.parse('2026-12-02T12:00:00Z');

const rollout: RolloutStatus = {
  ports: [
    { service: 'orders', port: 15006, listener: 'inbound_15006', asked: 'STRICT', inForce: 'PERMISSIVE', proxies: { connected: 1, acked: 1, nacked: [] }, clients: [], done: false,
      waitingFor: ['held at PERMISSIVE: clients reports call in plaintext (their own mode is DISABLE; lint TP0003); STRICT would refuse them'] },
    { service: 'web', port: 15006, listener: 'inbound_15006', asked: 'PERMISSIVE', inForce: 'PERMISSIVE', proxies: { connected: 0, acked: 0, nacked: [] }, clients: [], done: true, waitingFor: [] },
    { service: 'greeter', port: 50051, listener: 'grpc/server', asked: 'STRICT', inForce: 'STRICT', proxies: { connected: 0, acked: 0, nacked: [] }, clients: [], done: true, waitingFor: [] },
  ],
};

function evidence(service: string, port: number, o: Partial<PortEvidence>): PortEvidence {
  const zero = { mtls: 0, plaintext: 0, handshakeFailures: 0, rbacDenied: 0 };
  return { service, port, evidenceAvailable: true, readiness: 'not_ready', readinessReason: 'no mTLS seen', window: zero, totals: zero, mtlsCallers: [], plaintextSources: [], rbacDeniedCallers: [], series: [], ...o };
}

function inputs(over: Partial<DashboardInputs>): DashboardInputs {
  return { now: T0, trustDomain: 'example.org', rollout: { ports: [] }, proxies: { generatedAt: new Date(T0).toISOString(), proxies: [] }, svids: [], bundles: [], ...over };
}

describe('dashboard document', () => {
  test('SVIDs soonest first; expired and expiring within 10 minutes marked, exactly at the boundaries', () => {
    const clock = new ManualClock(T0);
    const ca = CertificateAuthority.open({ trustDomain: TrustDomain.parse('example.org'), dataDir: tempDir(), clock });
    try {
      const mint = (path: string, ttlMs: number) => ca.mintX509Svid(SpiffeId.parse(`spiffe://example.org/${path}`), { ttlMs });
      const svids = [mint('long', 2 * HOUR), mint('short', 30 * 60_000), mint('shorter', 20 * 60_000), mint('shortest', 15 * 60_000)];
      // The moment the shortest one expires: the next is 5 minutes out, the next 15 minutes.
      const at = svids[3]!.notAfter.getTime();
      const doc = buildDashboard(inputs({ now: at, svids }));
      assert.deepEqual(doc.svids.map((s) => [s.spiffeId.replace('spiffe://example.org/', ''), s.state]), [
        ['shortest', 'expired'], ['shorter', 'expiring'], ['short', 'valid'], ['long', 'valid'],
      ]);
      assert.equal(doc.svids[0]!.serial, svids[3]!.serial);
      assert.equal(doc.summary.svidsExpired, 1);
      assert.equal(doc.summary.svidsExpiring, 1);
      // The boundary: exactly 10 minutes left is "expiring", one millisecond more is not.
      const short = svids[1]!.notAfter.getTime();
      const state = (now: number) => buildDashboard(inputs({ now, svids: [svids[1]!] })).svids[0]!.state;
      assert.equal(state(short - EXPIRING_WITHIN_MS), 'expiring');
      assert.equal(state(short - EXPIRING_WITHIN_MS - 1), 'valid');
      assert.equal(state(short - 1), 'expiring');
      assert.equal(state(short), 'expired');
    } finally {
      ca.close();
    }
  });

  test('trust domains list each CA certificate with the subject, serial and not-after openssl reads', () => {
    const clock = new ManualClock(T0);
    const ca = CertificateAuthority.open({ trustDomain: TrustDomain.parse('example.org'), dataDir: tempDir(), clock });
    try {
      ca.rotateNow();
      const bundle = ca.bundle();
      assert.ok(bundle.x509Authorities.length >= 2, 'a rotation publishes the next CA beside the current one');
      const doc = buildDashboard(inputs({ bundles: [bundle] }));
      assert.equal(doc.trustDomains.length, 1);
      const td = doc.trustDomains[0]!;
      assert.equal(td.trustDomain, 'example.org');
      assert.equal(td.local, true);
      assert.equal(td.sequence, bundle.sequence);
      assert.equal(td.authorities.length, bundle.x509Authorities.length);
      const dir = tempDir();
      for (const cert of bundle.x509Authorities) {
        const out = openssl(['x509', '-noout', '-serial', '-subject', '-enddate', '-nameopt', 'RFC2253', '-in', writePem(dir, 'ca.pem', [cert])]);
        const serial = /^serial=(\w+)$/m.exec(out)![1]!;
        const row = td.authorities.find((a) => a.serial === serial.toUpperCase());
        assert.ok(row, `serial ${serial} listed`);
        assert.equal(Date.parse(row.notAfter), Date.parse(/^notAfter=(.+)$/m.exec(out)![1]!));
        // openssl's RFC 2253 form is most-specific first; the page's is node's order: the same attributes.
        const attrs = (s: string) => s.split(/,\s*/).map((x) => x.trim()).sort();
        assert.deepEqual(attrs(row.subject), attrs(/^subject=(.+)$/m.exec(out)![1]!));
      }
      const other = buildDashboard(inputs({ trustDomain: 'other.org', bundles: [bundle] }));
      assert.equal(other.trustDomains[0]!.local, false, 'a bundle of another trust domain is federated');
    } finally {
      ca.close();
    }
  });

  test('proxies: per type SYNCED, STALE or NACKED with the error text; the proxy takes its worst state', () => {
    const registry = new ProxyStatusRegistry();
    const id = { nodeId: 'orders-1', cluster: 'orders', principal: 'uid:1002', service: 'ads' as const, variant: 'delta' as const, connectedSince: T0 };
    const good = new ProxyRecord({ ...id, streamId: '1' });
    good.sent(TYPE_SECRET, 'n1', 'v1', T0, []);
    good.ack(TYPE_SECRET, 'n1', T0 + 5);
    const bad = new ProxyRecord({ ...id, nodeId: 'orders-2', streamId: '2' });
    bad.sent(TYPE_LISTENER, 'n2', 'v2', T0, []);
    bad.nack(TYPE_LISTENER, 'n2', 'Error adding/updating listener(s) inbound_15006: unknown filter', T0 + 7);
    bad.sent(TYPE_CLUSTER, 'n3', 'v3', T0, []);
    registry.add(good);
    registry.add(bad);
    const doc = buildDashboard(inputs({ proxies: registry.snapshot(T0 + 10) }));
    assert.deepEqual(doc.proxies.map((p) => [p.nodeId, p.state, p.api]), [['orders-1', 'SYNCED', 'ADS Delta'], ['orders-2', 'NACKED', 'ADS Delta']]);
    const types = Object.fromEntries(doc.proxies[1]!.types.map((t) => [t.type, t]));
    assert.equal(types['Listener']!.state, 'NACKED');
    assert.equal(types['Listener']!.error, 'Error adding/updating listener(s) inbound_15006: unknown filter');
    assert.equal(types['Cluster']!.state, 'STALE');
    assert.equal(types['Cluster']!.error, undefined);
    assert.equal(doc.summary.proxiesNotSynced, 1);
    // Sent again after the NACK: the error is no longer the latest word.
    bad.sent(TYPE_LISTENER, 'n4', 'v4', T0 + 20, []);
    const later = buildDashboard(inputs({ proxies: registry.snapshot(T0 + 21) }));
    assert.equal(later.proxies[1]!.types.find((t) => t.type === 'Listener')!.state, 'STALE');
    assert.equal(later.proxies[1]!.types.find((t) => t.type === 'Listener')!.error, undefined);
  });

  test('ports: mode asked and in force, why held, mTLS share, sources capped, readiness and the gate as the evidence states them', () => {
    const plaintextSources = Array.from({ length: 13 }, (_, i) => ({ source: `10.0.0.${i + 1}`, count: 20 - i, lastSeen: new Date(T0 - i * 60_000).toISOString() }));
    const ports = new Map<string, PortEvidence>([
      ['orders:15006', evidence('orders', 15006, {
        window: { mtls: 30, plaintext: 10, handshakeFailures: 1, rbacDenied: 2 }, plaintextSources,
        readiness: 'not_ready', readinessReason: '10 plaintext connections from 13 sources, the last 12:00:00 UTC',
        strictGate: { state: 'held', reason: 'held at PERMISSIVE: plaintext from 10.0.0.1 (20)' },
        mtlsCallers: [{ source: 'spiffe://example.org/ns/shop/sa/web', count: 30, lastSeen: new Date(T0).toISOString() }],
        series: [{ at: new Date(T0 - HOUR).toISOString(), mtls: 10, plaintext: 10 }, { at: new Date(T0).toISOString(), mtls: 20, plaintext: 0 }],
      })],
      ['web:15006', evidence('web', 15006, { window: { mtls: 5, plaintext: 0, handshakeFailures: 0, rbacDenied: 0 }, readiness: 'ready', readinessReason: '5 mTLS, no plaintext' })],
      ['greeter:50051', evidence('greeter', 50051, { evidenceAvailable: false, readiness: 'no_evidence', readinessReason: 'proxyless gRPC sends no access logs', strictGate: { state: 'forced', reason: 'force: true' } })],
    ]);
    const doc = buildDashboard(inputs({ rollout, evidence: { windowMs: WINDOW, port: (s, p) => ports.get(`${s}:${p}`) } }));
    const [orders, web, greeter] = doc.ports;
    assert.deepEqual([orders!.asked, orders!.inForce, orders!.held, orders!.done], ['STRICT', 'PERMISSIVE', true, false]);
    assert.match(orders!.why[0]!, /^held at PERMISSIVE/);
    assert.equal(orders!.mtlsShare, 0.75);
    assert.equal(orders!.readiness, 'not_ready');
    assert.equal(orders!.readinessReason, '10 plaintext connections from 13 sources, the last 12:00:00 UTC');
    assert.deepEqual(orders!.strictGate, { state: 'held', reason: 'held at PERMISSIVE: plaintext from 10.0.0.1 (20)' });
    assert.equal(orders!.plaintextSources.length, SOURCES_SHOWN);
    assert.equal(orders!.moreSources, 13 - SOURCES_SHOWN);
    assert.deepEqual(orders!.series, { from: new Date(T0 - HOUR).toISOString(), bucketMs: HOUR, mtls: [10, 20], plaintext: [10, 0] });
    assert.deepEqual([web!.readiness, web!.mtlsShare, web!.held], ['ready', 1, false]);
    assert.equal(greeter!.readiness, 'no_evidence', 'proxyless gRPC says "no evidence", never "ready"');
    assert.equal(greeter!.strictGate?.state, 'forced');
    assert.equal(greeter!.held, false);
    assert.deepEqual(doc.summary, { ...doc.summary, services: 3, ports: 3, strictInForce: 1, readyForStrict: 1, held: 1, mtlsShare: 35 / 45 });
    assert.equal(doc.windowMs, WINDOW);

    // Held by the gate alone (the rollout itself has nothing against STRICT): still shown as held.
    const gateOnly = buildDashboard(inputs({
      rollout: { ports: [{ ...rollout.ports[0]!, waitingFor: [] }] },
      evidence: { windowMs: WINDOW, port: (s, p) => ports.get(`${s}:${p}`) },
    }));
    assert.equal(gateOnly.ports[0]!.held, true);
  });

  test('readiness: nothing collected, nothing seen on the port, or what the evidence says', () => {
    assert.equal(readinessOf(undefined, undefined).readiness, 'no_evidence');
    assert.deepEqual(readinessOf(undefined, WINDOW), { readiness: 'not_ready', reason: 'no connection seen in the last 24h' });
    assert.deepEqual(readinessOf(evidence('a', 1, { readiness: 'ready', readinessReason: 'r' }), WINDOW), { readiness: 'ready', reason: 'r' });
    const none = buildDashboard(inputs({ rollout }));
    assert.equal(none.windowMs, null);
    assert.ok(none.ports.every((p) => p.readiness === 'no_evidence' && p.window === null && p.mtlsShare === null));
  });
});
