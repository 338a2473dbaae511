import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Mode } from '../../src/mesh/model.js';
import { planRollout, type Transport } from '../../src/rollout/plan.js';
import { advance, initialState, type EdgeInForce, type PortInForce, type RolloutState, type Settled } from '../../src/rollout/state-machine.js';
import { shopMesh, type MeshModes } from './fixtures.js';

const PORT = 'orders:9000';
const WEB = 'web→orders';
const REPORTS = 'reports→orders';

/** "orders:9000=PERMISSIVE<DISABLE web→orders=plaintext": a mode with the one before its latest step. */
function state(spec: string): RolloutState {
  const ports = new Map<string, PortInForce>();
  const edges = new Map<string, EdgeInForce>();
  for (const tok of spec.split(/\s+/).filter(Boolean)) {
    const [key, value] = tok.split('=') as [string, string];
    if (key.includes('→')) {
      edges.set(key, { transport: value as Transport, server: 'orders', port: 9000 });
    } else {
      const [mode, previous] = value.split('<') as [Mode, Mode | undefined];
      ports.set(key, previous ? { mode, previous } : { mode });
    }
  }
  return { ports, edges };
}

function show(s: RolloutState): string {
  return [...[...s.ports].map(([k, p]) => `${k}=${p.mode}`), ...[...s.edges].sort(([a], [b]) => (a < b ? 1 : -1)).map(([k, e]) => `${k}=${e.transport}`)].join(' ');
}

function settled(ports: string[], edges: string[]): Settled {
  return { port: (k) => ports.includes(k), edge: (k) => edges.includes(k) };
}
const ALL = settled([PORT], [WEB, REPORTS]);
const NONE = settled([], []);

interface Case {
  readonly name: string;
  readonly to: MeshModes;
  readonly from: string;
  readonly settled: Settled;
  readonly expect: string;
}

const CASES: Case[] = [
  // DISABLE → STRICT
  { name: 'leaving DISABLE: the server goes PERMISSIVE first, even with everything ACKed; clients stay plaintext', to: { orders: 'STRICT' }, from: `${PORT}=DISABLE ${WEB}=plaintext ${REPORTS}=plaintext`, settled: ALL, expect: `${PORT}=PERMISSIVE ${WEB}=plaintext ${REPORTS}=plaintext` },
  { name: 'PERMISSIVE not ACKed by the server yet: clients stay plaintext and STRICT waits', to: { orders: 'STRICT' }, from: `${PORT}=PERMISSIVE<DISABLE ${WEB}=plaintext ${REPORTS}=plaintext`, settled: settled([], [WEB, REPORTS]), expect: `${PORT}=PERMISSIVE ${WEB}=plaintext ${REPORTS}=plaintext` },
  { name: 'PERMISSIVE ACKed: clients switch to mTLS; STRICT waits for their ACKs, not taken in the same evaluation', to: { orders: 'STRICT' }, from: `${PORT}=PERMISSIVE<DISABLE ${WEB}=plaintext ${REPORTS}=plaintext`, settled: ALL, expect: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=mtls` },
  { name: 'one client has not ACKed its mTLS cluster: STRICT waits', to: { orders: 'STRICT' }, from: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=mtls`, settled: settled([PORT], [WEB]), expect: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=mtls` },
  { name: 'every client ACKed mTLS but the server has not ACKed PERMISSIVE: STRICT waits', to: { orders: 'STRICT' }, from: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=mtls`, settled: settled([], [WEB, REPORTS]), expect: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=mtls` },
  { name: 'every client ACKed mTLS: the server goes STRICT', to: { orders: 'STRICT' }, from: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=mtls`, settled: ALL, expect: `${PORT}=STRICT ${WEB}=mtls ${REPORTS}=mtls` },
  { name: 'STRICT asked while a client is DISABLE itself: held at PERMISSIVE, that client stays plaintext', to: { orders: 'STRICT', reports: 'DISABLE' }, from: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=plaintext`, settled: ALL, expect: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=plaintext` },
  // STRICT → DISABLE
  { name: 'leaving STRICT: the server goes PERMISSIVE at once, without any ACK; clients keep mTLS', to: { orders: 'DISABLE' }, from: `${PORT}=STRICT ${WEB}=mtls ${REPORTS}=mtls`, settled: NONE, expect: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=mtls` },
  { name: 'PERMISSIVE (from STRICT) not ACKed by the server: clients keep mTLS', to: { orders: 'DISABLE' }, from: `${PORT}=PERMISSIVE<STRICT ${WEB}=mtls ${REPORTS}=mtls`, settled: settled([], [WEB, REPORTS]), expect: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=mtls` },
  { name: 'PERMISSIVE ACKed: clients switch to plaintext; DISABLE waits for their ACKs', to: { orders: 'DISABLE' }, from: `${PORT}=PERMISSIVE<STRICT ${WEB}=mtls ${REPORTS}=mtls`, settled: ALL, expect: `${PORT}=PERMISSIVE ${WEB}=plaintext ${REPORTS}=plaintext` },
  { name: 'one client has not ACKed plaintext: DISABLE waits', to: { orders: 'DISABLE' }, from: `${PORT}=PERMISSIVE ${WEB}=plaintext ${REPORTS}=plaintext`, settled: settled([PORT], [REPORTS]), expect: `${PORT}=PERMISSIVE ${WEB}=plaintext ${REPORTS}=plaintext` },
  { name: 'every client ACKed plaintext: the server goes DISABLE', to: { orders: 'DISABLE' }, from: `${PORT}=PERMISSIVE ${WEB}=plaintext ${REPORTS}=plaintext`, settled: ALL, expect: `${PORT}=DISABLE ${WEB}=plaintext ${REPORTS}=plaintext` },
  { name: 'rollback from a NACKed PERMISSIVE: DISABLE needs only the clients, not the server’s own ACK', to: { orders: 'DISABLE' }, from: `${PORT}=PERMISSIVE<DISABLE ${WEB}=plaintext ${REPORTS}=plaintext`, settled: settled([], [WEB, REPORTS]), expect: `${PORT}=DISABLE ${WEB}=plaintext ${REPORTS}=plaintext` },
  { name: 'STRICT → PERMISSIVE is immediate', to: { orders: 'PERMISSIVE' }, from: `${PORT}=STRICT ${WEB}=mtls ${REPORTS}=mtls`, settled: NONE, expect: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=mtls` },
  // A client leaving mTLS by its own mode.
  { name: 'a client moving to DISABLE under a STRICT server: the server goes PERMISSIVE first, the client keeps mTLS', to: { orders: 'STRICT', reports: 'DISABLE' }, from: `${PORT}=STRICT ${WEB}=mtls ${REPORTS}=mtls`, settled: ALL, expect: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=mtls` },
  { name: '… and goes plaintext once PERMISSIVE is ACKed', to: { orders: 'STRICT', reports: 'DISABLE' }, from: `${PORT}=PERMISSIVE<STRICT ${WEB}=mtls ${REPORTS}=mtls`, settled: ALL, expect: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=plaintext` },
  { name: 'a client leaving DISABLE switches to mTLS at once when the server’s PERMISSIVE is ACKed', to: { orders: 'PERMISSIVE', reports: 'PERMISSIVE' }, from: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=plaintext`, settled: ALL, expect: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=mtls` },
  // New things.
  { name: 'a client added while PERMISSIVE (from DISABLE) is not ACKed starts plaintext', to: { orders: 'STRICT' }, from: `${PORT}=PERMISSIVE<DISABLE ${WEB}=plaintext`, settled: NONE, expect: `${PORT}=PERMISSIVE ${WEB}=plaintext ${REPORTS}=plaintext` },
  { name: 'a client added while PERMISSIVE (from STRICT) is not ACKed starts on mTLS', to: { orders: 'DISABLE' }, from: `${PORT}=PERMISSIVE<STRICT ${WEB}=mtls`, settled: NONE, expect: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=mtls` },
  { name: 'a client added to an ACKed PERMISSIVE port starts on mTLS, and STRICT waits for its ACK', to: { orders: 'STRICT' }, from: `${PORT}=PERMISSIVE ${WEB}=mtls`, settled: ALL, expect: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=mtls` },
  { name: 'a port that is new starts at its target', to: { orders: 'STRICT' }, from: '', settled: NONE, expect: `${PORT}=STRICT ${WEB}=mtls ${REPORTS}=mtls` },
  { name: 'a client that left the description is dropped and no longer waited for', to: { orders: 'STRICT', withoutReports: true }, from: `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=plaintext`, settled: settled([PORT], [WEB]), expect: `${PORT}=STRICT ${WEB}=mtls` },
];

describe('rollout state machine: one evaluation', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const next = advance(planRollout(shopMesh(c.to)), state(c.from), c.settled);
      assert.equal(show(next), c.expect);
    });
  }
});

describe('rollout state machine: whole rollouts with every step ACKed', () => {
  const run = (from: MeshModes, to: MeshModes): string[] => {
    let s = initialState(planRollout(shopMesh(from)));
    const plans = planRollout(shopMesh(to));
    const seen = [show(s)];
    for (let i = 0; i < 10; i++) {
      const next = advance(plans, s, ALL);
      if (show(next) === show(s)) break;
      seen.push(show((s = next)));
    }
    return seen;
  };

  test('DISABLE → STRICT: server PERMISSIVE, then clients mTLS, then server STRICT', () => {
    assert.deepEqual(run({ orders: 'DISABLE' }, { orders: 'STRICT' }), [
      `${PORT}=DISABLE ${WEB}=plaintext ${REPORTS}=plaintext`,
      `${PORT}=PERMISSIVE ${WEB}=plaintext ${REPORTS}=plaintext`,
      `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=mtls`,
      `${PORT}=STRICT ${WEB}=mtls ${REPORTS}=mtls`,
    ]);
  });

  test('STRICT → DISABLE: server PERMISSIVE, then clients plaintext, then server DISABLE', () => {
    assert.deepEqual(run({ orders: 'STRICT' }, { orders: 'DISABLE' }), [
      `${PORT}=STRICT ${WEB}=mtls ${REPORTS}=mtls`,
      `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=mtls`,
      `${PORT}=PERMISSIVE ${WEB}=plaintext ${REPORTS}=plaintext`,
      `${PORT}=DISABLE ${WEB}=plaintext ${REPORTS}=plaintext`,
    ]);
  });

  test('the first description is in force at once, STRICT held at PERMISSIVE for a DISABLE client', () => {
    assert.equal(show(initialState(planRollout(shopMesh({ orders: 'STRICT', reports: 'DISABLE' })))), `${PORT}=PERMISSIVE ${WEB}=mtls ${REPORTS}=plaintext`);
    assert.equal(show(initialState(planRollout(shopMesh({ orders: 'STRICT' })))), `${PORT}=STRICT ${WEB}=mtls ${REPORTS}=mtls`);
  });

  test('no step ever leaves a client on a transport its server does not accept', () => {
    const modes: Mode[] = ['DISABLE', 'PERMISSIVE', 'STRICT'];
    const accepts = (m: Mode, t: Transport) => (t === 'mtls' ? m !== 'DISABLE' : m !== 'STRICT');
    for (const a of modes) {
      for (const b of modes) {
        for (const r of modes) {
          let s = initialState(planRollout(shopMesh({ orders: a })));
          const plans = planRollout(shopMesh({ orders: b, reports: r }));
          for (let i = 0; i < 10; i++) {
            const next = advance(plans, s, ALL);
            // While proxies move from s to next, any server proxy may hold either mode and any client either
            // transport: every combination must connect.
            for (const [k, e] of next.edges) {
              for (const m of [s.ports.get(PORT)!.mode, next.ports.get(PORT)!.mode]) {
                for (const t of [s.edges.get(k)?.transport ?? e.transport, e.transport]) {
                  assert.ok(accepts(m, t), `${a}→${b} (reports ${r}) step ${i}: ${show(s)} → ${show(next)}`);
                }
              }
            }
            s = next;
          }
        }
      }
    }
  });
});
