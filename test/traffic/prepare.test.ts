// A description is gated in two steps: prepare() computes, commit() adopts. Until commit (the rollout took the
// description), the gate, the evidence's ports and strict-check stay as they were.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { parseMesh } from '../../src/mesh/parse.js';
import { silentLogger } from '../../src/observe/log.js';
import { Traffic } from '../../src/traffic/traffic.js';

const mesh = (mode: string, extraPort = false) =>
  parseMesh(
    `trustDomain: example.org
services:
  - name: orders
    spiffeId: spiffe://example.org/orders
    nodes: [uid:1]
    mode: ${mode}
    inbound:
      - { port: 9000, appPort: 8000 }
${extraPort ? '      - { port: 9001, appPort: 8001 }\n' : ''}`,
    'mesh.yaml',
  );

test('prepare() changes nothing until commit()', () => {
  const t = new Traffic({ clock: new ManualClock(), logger: silentLogger, mayReport: () => true });
  t.setMesh(mesh('PERMISSIVE'));
  t.evidence.record('orders', 9000, 'plaintext', '10.0.0.1');

  const refused = t.prepare(mesh('STRICT', true));
  assert.equal(refused.model.serviceByName('orders')!.inbound[0]!.mode, 'PERMISSIVE', 'held: plaintext in the window');
  assert.deepEqual(t.decisions(), [], 'not adopted');
  assert.equal(t.port('orders', 9001), undefined, 'the new port is not counted yet');
  assert.deepEqual(t.strictCheck().ports.map((p) => [p.port, p.asked]), [[9000, 'PERMISSIVE']]);

  const taken = t.prepare(mesh('STRICT', true));
  taken.commit();
  assert.deepEqual(t.decisions().map((d) => [d.port, d.state, d.readiness]), [[9000, 'held', 'not_ready'], [9001, 'held', 'not_ready']]);
  assert.match(t.decisions()[1]!.reason, /no mTLS connection seen/);
  assert.ok(t.port('orders', 9001));
  assert.deepEqual(t.strictCheck().ports.map((p) => [p.port, p.asked]), [[9000, 'STRICT'], [9001, 'STRICT']]);
  t.close();
});
