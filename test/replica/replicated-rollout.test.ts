// The pure parts of replicated rollouts: a decision's state survives the datastore's JSON exactly, a damaged one is
// refused with a code, and `trustplane status` shows which replica each proxy is on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeState, encodeState } from '../../src/replica/replicated-rollout.js';
import { globalSnapshot } from '../../src/replica/serving.js';
import type { RolloutState } from '../../src/rollout/index.js';
import { TrustplaneError } from '../../src/errors.js';
import { renderProxyStatusTable } from '../../src/xds/status/status-render.js';
import { cli } from '../cli/run.js';

describe('replicated rollout decisions', () => {
  it('round-trips a rollout state through JSON, in a stable order', () => {
    const state: RolloutState = {
      ports: new Map([
        ['orders:15006', { mode: 'PERMISSIVE', previous: 'DISABLE' }],
        ['web:15006', { mode: 'STRICT' }],
      ]),
      edges: new Map([['web→orders', { transport: 'mtls', server: 'orders', port: 15006 }]]),
    };
    const json = JSON.parse(JSON.stringify(encodeState(state))) as Record<string, unknown>;
    const back = decodeState(json);
    assert.deepEqual([...back.ports], [...state.ports]);
    assert.deepEqual([...back.edges], [...state.edges]);
    const reordered: RolloutState = { ports: new Map([...state.ports].reverse()), edges: state.edges };
    assert.deepEqual(encodeState(reordered), encodeState(state), 'the same state is the same document');
  });

  for (const [what, doc] of [
    ['not a state', { hello: 1 }],
    ['an unknown mode', { ports: [['a:1', 'MOSTLY', null]], edges: [] }],
    ['an unknown transport', { ports: [], edges: [['a→b', 'carrier-pigeon', 'b', 1]] }],
  ] as const) {
    it(`refuses a recorded decision with ${what} (ROLLOUT_DECISION_INVALID)`, () => {
      assert.throws(() => decodeState(doc as Record<string, unknown>), (e: unknown) => e instanceof TrustplaneError && e.code === 'ROLLOUT_DECISION_INVALID');
    });
  }

  it('trustplane status shows the replica of each proxy of the global view', () => {
    const doc = (nodeId: string) => ({ streamId: '7', nodeId, cluster: 'web', principal: `node:${nodeId}`, service: 'ads', variant: 'sotw', connectedSince: new Date(0).toISOString(), types: [] });
    const snap = globalSnapshot(
      [
        { replica: 'a', streamId: '7', doc: doc('web-1'), heartbeatAt: 0 },
        { replica: 'b', streamId: '7', doc: doc('web-2'), heartbeatAt: 0 },
      ],
      1_000,
    );
    assert.deepEqual(snap.proxies.map((p) => p.streamId), ['a/7', 'b/7'], 'stream ids unique across replicas');
    const table = renderProxyStatusTable(snap, 1_000).split('\n');
    assert.match(table[0]!, /^NAME\s+CLUSTER\s+PRINCIPAL\s+STREAM\s+REPLICA\s/);
    assert.match(table[1]!, /^web-1\s+web\s+node:web-1\s+ads\/sotw\s+a\s/);
    assert.match(table[2]!, /^web-2\s+web\s+node:web-2\s+ads\/sotw\s+b\s/);
  });
});

describe('serve: replica flags', () => {
  it('refuses replica flags without --datastore, a heartbeat timeout under two heartbeats, and SPIRE as identity source', async () => {
    const a = await cli('serve', '--replica-id', 'x');
    assert.equal(a.code, 2);
    assert.match(a.stderr, /--replica-id: for replicas, which need --datastore/);
    const b = await cli('serve', '--datastore', 'postgres://u:hunter2@127.0.0.1:1/db', '--heartbeat', '5s', '--heartbeat-timeout', '6s');
    assert.equal(b.code, 2);
    assert.match(b.stderr, /--heartbeat-timeout must be at least twice --heartbeat/);
    const c = await cli('serve', '--datastore', 'postgres://u:hunter2@127.0.0.1:1/db', '--identity-source', 'workload-api:unix:///tmp/agent.sock');
    assert.equal(c.code, 2);
    assert.match(c.stderr, /replicas sign with embedded CAs/);
    for (const r of [a, b, c]) assert.doesNotMatch(r.stderr, /hunter2/);
  });
});
