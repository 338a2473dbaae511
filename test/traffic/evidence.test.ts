// The evidence window on a manual clock: bucket edges, the per-port source bound with "other", places given
// back when sources leave the window, ports kept or dropped as the mesh changes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { BUCKETS, TrafficEvidence } from '../../src/traffic/evidence.js';

const HOUR = 3_600_000;

function setup(maxSourcesPerPort = 3) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const ev = new TrafficEvidence({ clock, windowMs: 24 * HOUR, maxSourcesPerPort });
  ev.setPorts([{ service: 'orders', port: 9000, evidenceAvailable: true }, { service: 'greeter', port: 50051, evidenceAvailable: false }]);
  return { clock, ev };
}

describe('traffic evidence window', () => {
  test('a connection counts for the whole window and at most one bucket longer', () => {
    const { clock, ev } = setup();
    assert.equal(ev.bucketMs, 30 * 60_000);
    clock.advance(10 * 60_000); // 10 min into a bucket
    ev.record('orders', 9000, 'plaintext', '10.0.0.1');
    clock.advance(24 * HOUR - 1);
    assert.equal(ev.port('orders', 9000)!.window.plaintext, 1, 'just under the window: counted');
    clock.advance(20 * 60_000);
    assert.equal(ev.port('orders', 9000)!.window.plaintext, 1, 'the window ends on a bucket edge: still counted');
    clock.advance(1);
    assert.equal(ev.port('orders', 9000)!.window.plaintext, 0, 'past the window and its bucket: gone');
    assert.equal(ev.port('orders', 9000)!.totals.plaintext, 1, 'totals since start stay');
    assert.equal(ev.port('orders', 9000)!.series.length, BUCKETS + 1);
  });

  test('at most maxSourcesPerPort named sources; the rest under "other"; places come back when sources leave', () => {
    const { clock, ev } = setup(3);
    ev.record('orders', 9000, 'mtls', 'spiffe://example.org/a');
    ev.record('orders', 9000, 'mtls', 'spiffe://example.org/b');
    ev.record('orders', 9000, 'plaintext', '10.0.0.1');
    ev.record('orders', 9000, 'plaintext', '10.0.0.2');
    ev.record('orders', 9000, 'plaintext', '10.0.0.3');
    ev.record('orders', 9000, 'mtls', 'spiffe://example.org/c');
    let e = ev.port('orders', 9000)!;
    assert.deepEqual(e.mtlsCallers.map((s) => [s.source, s.count]), [['other', 1], ['spiffe://example.org/a', 1], ['spiffe://example.org/b', 1]]);
    assert.deepEqual(e.plaintextSources.map((s) => [s.source, s.count]), [['other', 2], ['10.0.0.1', 1]]);
    assert.deepEqual(e.window, { mtls: 3, plaintext: 3, handshakeFailures: 0, rbacDenied: 0 }, 'counts by kind stay exact');
    clock.advance(25 * HOUR);
    ev.record('orders', 9000, 'plaintext', '10.0.0.9');
    e = ev.port('orders', 9000)!;
    assert.deepEqual(e.plaintextSources.map((s) => s.source), ['10.0.0.9'], 'the old sources left the window and gave their places back');
  });

  test('ports with no evidence say so; ports that leave the mesh are dropped, ports that stay keep their counts', () => {
    const { ev } = setup();
    assert.equal(ev.port('greeter', 50051)!.readiness, 'no_evidence');
    assert.equal(ev.port('orders', 9000)!.readiness, 'not_ready');
    ev.record('orders', 9000, 'mtls', 'spiffe://example.org/a');
    assert.equal(ev.port('orders', 9000)!.readiness, 'ready');
    assert.equal(ev.record('orders', 9999, 'mtls', 'spiffe://example.org/a'), false);
    ev.setPorts([{ service: 'orders', port: 9000, evidenceAvailable: true }]);
    assert.equal(ev.port('orders', 9000)!.totals.mtls, 1);
    assert.equal(ev.port('greeter', 50051), undefined);
  });
});

test('a clock that steps back counts in the latest bucket, never in a reused slot', () => {
  const { clock, ev } = setup();
  clock.advance(30 * HOUR);
  ev.record('orders', 9000, 'plaintext', '10.0.0.1');
  ev.record('orders', 9000, 'plaintext', '10.0.0.2', clock.now() - 26 * HOUR);
  const e = ev.port('orders', 9000)!;
  assert.equal(e.window.plaintext, 2);
  assert.equal(e.plaintextSources.find((s) => s.source === '10.0.0.2')!.count, 1);
  assert.equal(e.series.at(-1)!.plaintext, 2, 'in the latest bucket');
  clock.advance(25 * HOUR);
  assert.equal(ev.port('orders', 9000)!.window.plaintext, 0, 'both leave the window together');
});

test('isReady() agrees with the readiness port() reports', () => {
  const { clock, ev } = setup();
  const agree = (): void => {
    for (const [s, p] of [['orders', 9000], ['greeter', 50051]] as const) assert.equal(ev.isReady(s, p), ev.port(s, p)!.readiness === 'ready', `${s}:${p}`);
  };
  agree();
  ev.record('orders', 9000, 'mtls', 'spiffe://example.org/a');
  assert.equal(ev.isReady('orders', 9000), true);
  agree();
  ev.record('orders', 9000, 'plaintext', '10.0.0.1');
  assert.equal(ev.isReady('orders', 9000), false);
  agree();
  clock.advance(12 * HOUR);
  ev.record('orders', 9000, 'mtls', 'spiffe://example.org/a');
  clock.advance(13 * HOUR);
  assert.equal(ev.isReady('orders', 9000), true);
  agree();
  ev.record('greeter', 50051, 'mtls', 'spiffe://example.org/a');
  agree();
});
