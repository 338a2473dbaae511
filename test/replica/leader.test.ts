// The leader's gates, on the embedded datastore (same rules as PostgreSQL by the conformance suite) and a
// ManualClock: a step waits for every live replica to serve the latest decision, for the grace after a replica
// leaves or the lease changes hands, and a leader that lost its lease cannot record anything.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { EmbeddedDatastore, type ReplicaView } from '../../src/datastore/index.js';
import { decodeState, ReplicatedRollout, type Proposal, type ReplicatedRolloutHost, type Served } from '../../src/replica/replicated-rollout.js';
import type { RolloutState } from '../../src/rollout/index.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const state = (mode: 'DISABLE' | 'PERMISSIVE' | 'STRICT'): RolloutState => ({ ports: new Map([['orders:15006', { mode }]]), edges: new Map() });
const modeOf = (s: RolloutState): string => s.ports.get('orders:15006')!.mode;

/** A replica as the leader logic sees it: what it serves, what it would propose next, the live replicas it read. */
class FakeHost implements ReplicatedRolloutHost {
  served_: Served = { revision: 0, decision: 0 };
  servedState: RolloutState | undefined;
  newest = 1;
  next: RolloutState = state('PERMISSIVE');
  views: ReplicaView[] = [];
  served(): Served {
    return this.served_;
  }
  newestRevision(): number {
    return this.newest;
  }
  proposal(): Proposal {
    return { state: this.next };
  }
  sameAsServed(p: Proposal): boolean {
    return this.servedState !== undefined && modeOf(p.state) === modeOf(this.servedState);
  }
  serve(revision: number, decision: number, s: RolloutState): void {
    this.served_ = { revision, decision };
    this.servedState = s;
  }
  replicas(): readonly ReplicaView[] {
    return this.views;
  }
  /** Live replicas as heartbeats would report them: each serving `served` unless said otherwise. */
  see(ids: string[], behind: string[] = []): void {
    this.views = ids.map((replica) => ({ replica, heartbeatAt: 0, info: behind.includes(replica) ? { revision: 0, decision: 0 } : { ...this.served_ } }));
  }
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'tp-leader-'));
  dirs.push(dir);
  const clock = new ManualClock(Date.UTC(2026, 11, 2));
  const make = (id: string, host: FakeHost) => new ReplicatedRollout({ datastore: new EmbeddedDatastore(dir), clock, replica: id, leaseTtlMs: 7_000, graceMs: 7_000, host, onError: () => {} });
  return { clock, ds: new EmbeddedDatastore(dir), make };
}

describe('rollout leader', () => {
  it('takes a step only when every live replica serves the latest decision, and after the grace when one left', async () => {
    const { clock, ds, make } = setup();
    const host = new FakeHost();
    const a = make('a', host);
    host.see(['a', 'b']);
    await a.tick();
    assert.equal(a.leader, true);
    assert.deepEqual(host.served(), { revision: 1, decision: 1 }, 'the first decision of revision 1, served by the leader itself');

    // b still reports the state before: no step, however often the leader looks.
    host.next = state('STRICT');
    host.see(['a', 'b'], ['b']);
    await a.tick();
    await a.tick();
    assert.deepEqual(a.waitingFor, ['b']);
    assert.equal((await ds.rolloutDecisions(1)).length, 1);

    // b leaves the view (dead): the leader holds every step for the grace, then goes on without it.
    host.see(['a']);
    await a.tick();
    assert.match(a.waitingFor.join(), /grace/);
    assert.equal((await ds.rolloutDecisions(1)).length, 1);
    clock.advance(7_000);
    host.see(['a']);
    await a.tick();
    assert.deepEqual((await ds.rolloutDecisions(1)).map((d) => modeOf(decodeState(d.decision))), ['PERMISSIVE', 'STRICT']);
    assert.deepEqual(host.served(), { revision: 1, decision: 2 });
  });

  it('a replica that loaded a revision the leader has not decided keeps following the decisions of the one it serves', async () => {
    const { make } = setup();
    const ha = new FakeHost();
    const hb = new FakeHost();
    const a = make('a', ha);
    const b = make('b', hb);
    ha.see(['a', 'b']);
    await a.tick();
    await b.tick();
    assert.deepEqual(hb.served(), { revision: 1, decision: 1 });
    hb.newest = 2; // b loaded revision 2; a cannot serve it, so a keeps deciding revision 1
    ha.next = state('STRICT');
    ha.see(['a', 'b']);
    await a.tick();
    await b.tick();
    assert.deepEqual(hb.served(), { revision: 1, decision: 2 });
    assert.equal(modeOf(hb.servedState!), 'STRICT');
    await a.close();
    await b.close();
  });

  it('a leader whose lease expired records nothing more; the next one continues from the recorded decision, after its grace', async () => {
    const { clock, ds, make } = setup();
    const ha = new FakeHost();
    const hb = new FakeHost();
    const a = make('a', ha);
    const b = make('b', hb);
    ha.see(['a', 'b']);
    await a.tick();
    await b.tick();
    hb.see(['a', 'b']);
    assert.equal(a.leader, true);
    assert.equal(b.leader, false);
    assert.deepEqual(hb.served(), { revision: 1, decision: 1 }, 'b serves what a recorded');

    // a stalls past its lease; b takes over (a higher fencing token) and waits its grace before any step.
    clock.advance(7_001);
    hb.next = state('STRICT');
    hb.see(['b']);
    await b.tick();
    assert.equal(b.leader, true);
    assert.match(b.waitingFor.join(), /grace/);
    assert.equal((await ds.rolloutDecisions(1)).length, 1, 'no step during the grace');

    // a wakes up with a step of its own in mind: it renews the lease before any decision, finds b's, and records
    // nothing (a decision still carrying its old fencing token is refused: the datastore conformance suite).
    const lease = (await ds.acquireLease('rollout', 'a', 7_000, clock.now())).lease;
    assert.equal(lease.holder, 'b');
    ha.next = state('DISABLE');
    ha.see(['a', 'b']);
    await a.tick();
    assert.equal(a.leader, false);
    assert.equal((await ds.rolloutDecisions(1)).length, 1);

    clock.advance(7_000);
    await b.tick(); // renews; grace over
    hb.see(['b']);
    await b.tick();
    const decisions = await ds.rolloutDecisions(1);
    assert.deepEqual(decisions.map((d) => modeOf(decodeState(d.decision))), ['PERMISSIVE', 'STRICT']);
    assert.ok(decisions[1]!.fencingToken > decisions[0]!.fencingToken);
    await a.close();
    await b.close();
  });
});
