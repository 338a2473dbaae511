// strict-check's report from a description and evidence: exactly who STRICT would break on each port.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { parseMesh } from '../../src/mesh/parse.js';
import { TrafficEvidence } from '../../src/traffic/evidence.js';
import { knownPorts } from '../../src/traffic/traffic.js';
import { renderStrictCheck, strictCheck } from '../../src/traffic/strict-check.js';

const MESH = `trustDomain: example.org
services:
  - name: orders
    spiffeId: spiffe://example.org/orders
    nodes: [uid:1]
    inbound:
      - { port: 9000, appPort: 8000 }
    allowedCallers:
      - service: web
      - trustDomain: partner.example
  - name: web
    spiffeId: spiffe://example.org/web
    nodes: [uid:2]
    outbound:
      - service: orders
  - name: batch
    spiffeId: spiffe://example.org/batch
    nodes: [uid:3]
    mode: DISABLE
    outbound:
      - service: orders
federation:
  - trustDomain: partner.example
    bundleFile: partner.pem
`;

test('per port: plaintext sources, callers allowedCallers would deny, callers RBAC denied, DISABLE mesh clients; "other" listed as not checked', () => {
  const mesh = parseMesh(MESH, '/nonexistent/mesh.yaml');
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const ev = new TrafficEvidence({ clock, maxSourcesPerPort: 4 });
  ev.setPorts(knownPorts(mesh));
  ev.record('orders', 9000, 'mtls', 'spiffe://example.org/web');
  ev.record('orders', 9000, 'mtls', 'spiffe://partner.example/anyone');
  ev.record('orders', 9000, 'mtls', 'spiffe://example.org/reports');
  ev.record('orders', 9000, 'plaintext', '10.0.0.7');
  ev.record('orders', 9000, 'mtls', 'spiffe://example.org/late'); // past the bound of 4: "other"
  ev.record('orders', 9000, 'rbac_denied', 'spiffe://example.org/late2');
  const report = strictCheck(mesh, ev, clock.now());
  const p = report.ports[0]!;
  assert.deepEqual(p.plaintextSources.map((s) => [s.source, s.count]), [['10.0.0.7', 1]]);
  assert.deepEqual(p.deniedCallers.map((c) => [c.source, c.why]), [['spiffe://example.org/reports', 'mtls_not_allowed'], ['other', 'not_checked'], ['other', 'rbac_denied']]);
  assert.deepEqual(p.plaintextClients, ['batch']);
  assert.equal(p.breaks, true);
  const text = renderStrictCheck(report);
  assert.match(text, /^orders\s+9000\s+PERMISSIVE\s+not ready\s+plaintext from 10\.0\.0\.7: 1 connection, last seen 2026-01-01T00:00:00\.000Z$/m);
  assert.match(text, /other callers: 1 mTLS connection past the per-port source bound, not checked one by one/);
  assert.match(text, /mesh client batch calls in plaintext \(its mode is DISABLE\)/);
  assert.doesNotMatch(text, /example\.org\/web|partner\.example\/anyone/, 'admitted callers are not listed');
});
