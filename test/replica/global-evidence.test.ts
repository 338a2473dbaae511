// The merge of every replica's traffic evidence, and the gate started from what was recorded, on a ManualClock:
// evidence split over replicas reads exactly as if one replica had seen it all; a summary from another process is
// checked before it is believed; a leader's fresh gate never allows a port the recorded gate held.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { loadMeshText } from '../../src/control-plane/mesh-loader.js';
import { TrustplaneError } from '../../src/errors.js';
import { decodeEvidenceBuckets, GlobalEvidence } from '../../src/replica/global-evidence.js';
import { replicatedGate, sameGate, type GateRecord } from '../../src/replica/replicated-gate.js';
import type { RolloutState } from '../../src/rollout/index.js';
import type { ConnectionKind } from '../../src/traffic/evidence-view.js';
import { TrafficEvidence } from '../../src/traffic/evidence.js';
import { shopMesh } from './harness.js';

const MIN = 60_000;
const WINDOW = 48 * MIN;
const PORTS = [
  { service: 'orders', port: 15006, evidenceAvailable: true },
  { service: 'web', port: 15006, evidenceAvailable: true },
];

function replicas(n: number, maxSourcesPerPort = 32) {
  const clock = new ManualClock(Date.UTC(2026, 11, 2));
  const make = () => {
    const e = new TrafficEvidence({ clock, windowMs: WINDOW, maxSourcesPerPort });
    e.setPorts(PORTS);
    return e;
  };
  const each = Array.from({ length: n }, make);
  const global = new GlobalEvidence({ clock, local: each[0]!, maxSourcesPerPort });
  /** The others' summaries as read back from the datastore (through JSON). */
  const share = () => global.setShared(each.slice(1).map((e, i) => ({ replica: `r${i + 2}`, incarnation: 'x', writtenAt: clock.now(), buckets: decodeEvidenceBuckets(JSON.parse(JSON.stringify(e.exportBuckets()))) })));
  return { clock, each, global, share, one: make() };
}

describe('global traffic evidence', () => {
  it("reads as one replica's evidence would, had it seen every replica's connections", () => {
    const { clock, each, global, share, one } = replicas(3);
    const seen: [number, string, number, ConnectionKind, string][] = [
      [0, 'orders', 15006, 'mtls', 'spiffe://example.org/ns/shop/sa/web'],
      [1, 'orders', 15006, 'plaintext', '10.1.2.3'],
      [2, 'orders', 15006, 'mtls', 'spiffe://example.org/ns/shop/sa/web'],
      [2, 'orders', 15006, 'handshake_failure', '10.9.9.9'],
      [1, 'web', 15006, 'rbac_denied', 'spiffe://example.org/ns/x/sa/y'],
      [2, 'orders', 15006, 'plaintext', '10.1.2.4'],
    ];
    for (const [step, [r, s, p, kind, src]] of seen.entries()) {
      clock.advance(step * 7 * MIN);
      each[r]!.record(s, p, kind, src);
      one.record(s, p, kind, src);
    }
    share();
    for (const at of [0, 20 * MIN, 40 * MIN]) {
      clock.advance(at);
      for (const p of PORTS) assert.deepEqual(global.port(p.service, p.port), one.port(p.service, p.port), `${p.service}:${p.port} after ${at / MIN} more min`);
    }
    assert.equal(global.port('orders', 15006)!.readiness, 'not_ready');
  });

  it("a replica's plaintext holds the window after the replica stopped writing; it leaves with its bucket", () => {
    const { clock, each, global, share } = replicas(2);
    each[1]!.record('orders', 15006, 'plaintext', '10.1.2.3');
    share();
    clock.advance(WINDOW / 2);
    each[0]!.record('orders', 15006, 'mtls', 'spiffe://example.org/ns/shop/sa/web');
    assert.equal(global.port('orders', 15006)!.readiness, 'not_ready');
    assert.deepEqual(global.port('orders', 15006)!.plaintextSources.map((s) => s.source), ['10.1.2.3']);
    clock.advance(WINDOW / 2 + MIN);
    assert.equal(global.port('orders', 15006)!.readiness, 'ready', 'the shared summary was never rewritten: its buckets age like any');
    assert.equal(global.port('orders', 15006)!.totals.plaintext, 1);
  });

  it('keeps the per-port source bound over the merged sources: the rest count under "other"', () => {
    const { each, global, share } = replicas(2, 3);
    for (const ip of ['10.0.0.1', '10.0.0.2']) each[0]!.record('orders', 15006, 'plaintext', ip);
    for (const ip of ['10.0.0.1', '10.0.0.3', '10.0.0.4']) each[1]!.record('orders', 15006, 'plaintext', ip);
    share();
    assert.deepEqual(
      global.port('orders', 15006)!.plaintextSources.map((s) => [s.source, s.count]),
      [['10.0.0.1', 2], ['10.0.0.2', 1], ['10.0.0.3', 1], ['other', 1]],
    );
  });

  it("merges a replica's buckets of another width by time", () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 2));
    const local = new TrafficEvidence({ clock, windowMs: WINDOW });
    const wide = new TrafficEvidence({ clock, windowMs: 2 * WINDOW });
    for (const e of [local, wide]) e.setPorts(PORTS);
    wide.record('orders', 15006, 'plaintext', '10.1.2.3');
    const global = new GlobalEvidence({ clock, local });
    global.setShared([{ replica: 'r2', incarnation: 'x', writtenAt: clock.now(), buckets: wide.exportBuckets() }]);
    assert.equal(global.port('orders', 15006)!.window.plaintext, 1);
    clock.advance(WINDOW + 3 * MIN);
    assert.equal(global.port('orders', 15006)!.window.plaintext, 0, 'out of this replica\'s (shorter) window');
  });

  it('refuses a summary that is not one (EVIDENCE_SUMMARY_INVALID), and reads back its own export', () => {
    const { each } = replicas(1);
    each[0]!.record('orders', 15006, 'plaintext', '10.1.2.3');
    const doc = JSON.parse(JSON.stringify(each[0]!.exportBuckets()));
    assert.deepEqual(decodeEvidenceBuckets(doc), doc);
    const broken = [null, { ports: [] }, { ...doc, ports: [{ ...doc.ports[0], buckets: [[1, 2, 3]] }] }, { ...doc, ports: [{ ...doc.ports[0], sources: [{ kind: 'carrier-pigeon', source: 'x', lastSeen: 0, counts: [] }] }] }, { ...doc, ports: [{ ...doc.ports[0], totals: [-1, 0, 0, 0] }] }];
    for (const b of broken) assert.throws(() => decodeEvidenceBuckets(b), (e: unknown) => e instanceof TrustplaneError && e.code === 'EVIDENCE_SUMMARY_INVALID');
  });
});

describe('the gate a leader starts from the record', () => {
  const desired = (force = false) => loadMeshText(shopMesh('STRICT', 'http', { force }), 'mesh.yaml').model;
  const inForce = (mode: 'PERMISSIVE' | 'STRICT'): RolloutState => ({ ports: new Map([['orders:15006', { mode }]]), edges: new Map() });
  const record = (state: GateRecord['state']): GateRecord[] => [{ service: 'orders', port: 15006, state, reason: 'recorded' }];
  const orders = (r: ReturnType<typeof replicatedGate>) => r.decisions.find((d) => d.service === 'orders')!;

  it('on an empty view holds what was held and what was never judged; keeps allowed what was allowed or is STRICT in force', () => {
    const { global } = replicas(1);
    assert.equal(orders(replicatedGate(global, desired(), record('held'), inForce('PERMISSIVE'))).state, 'held');
    assert.equal(orders(replicatedGate(global, desired(), undefined, inForce('PERMISSIVE'))).state, 'held', 'a fresh gate would have said "as described at start"');
    const held = replicatedGate(global, desired(), undefined, inForce('PERMISSIVE'));
    assert.equal(held.model.serviceByName('orders')!.inbound[0]!.mode, 'PERMISSIVE', 'the rollout is handed the port at PERMISSIVE');
    assert.equal(orders(replicatedGate(global, desired(), record('allowed'), inForce('PERMISSIVE'))).state, 'allowed');
    assert.equal(orders(replicatedGate(global, desired(), undefined, inForce('STRICT'))).state, 'allowed');
    assert.equal(orders(replicatedGate(global, desired(true), record('held'), inForce('PERMISSIVE'))).state, 'forced');
  });

  it('releases a held port once the shared evidence says ready; a recorded allowed port stays allowed through plaintext', () => {
    const { clock, each, global, share } = replicas(2);
    each[1]!.record('orders', 15006, 'plaintext', '10.1.2.3');
    each[1]!.record('orders', 15006, 'mtls', 'spiffe://example.org/ns/shop/sa/web');
    share();
    assert.equal(orders(replicatedGate(global, desired(), record('held'), inForce('PERMISSIVE'))).state, 'held');
    assert.equal(orders(replicatedGate(global, desired(), record('allowed'), inForce('PERMISSIVE'))).state, 'allowed');
    clock.advance(WINDOW / 2);
    each[1]!.record('orders', 15006, 'mtls', 'spiffe://example.org/ns/shop/sa/web');
    share();
    clock.advance(WINDOW / 2 + 2 * MIN);
    const released = replicatedGate(global, desired(), record('held'), inForce('PERMISSIVE'));
    assert.equal(orders(released).state, 'allowed');
    assert.equal(sameGate(record('held'), [{ ...record('held')[0]!, reason: 'other words' }]), true, 'reasons are no step');
    assert.equal(sameGate(record('held'), record('allowed')), false);
  });
});
