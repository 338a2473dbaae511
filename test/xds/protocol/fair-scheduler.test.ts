// The fair scheduler: a budget of work per event-loop turn, and callers served round-robin within a turn, so a
// caller with many busy streams cannot push another caller's push back by more than one of its own.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FairScheduler, PUSH_COST } from '../../../src/xds/server/fair-scheduler.js';

/** A scheduler whose turns run only when the test says so; each stream's push costs what the test says. */
function harness(budget: number) {
  const turns: Array<() => void> = [];
  const pumped: string[] = [];
  const errors: unknown[] = [];
  const scheduler = new FairScheduler((e) => errors.push(e), budget, (fn) => turns.push(fn));
  const stream = (owner: string, id: string, cost = PUSH_COST, fail = false) => ({
    owner,
    pump: () => {
      pumped.push(id);
      if (fail) throw new Error(`stream ${id} failed`);
      return cost;
    },
  });
  const runTurn = (): string[] => {
    const before = pumped.length;
    turns.shift()!();
    return pumped.slice(before);
  };
  return { scheduler, stream, pumped, errors, turns, runTurn };
}

describe('fair scheduler', () => {
  test('within the budget a push runs at once; beyond it, the rest wait for the next turn', () => {
    const h = harness(3 * PUSH_COST);
    for (let i = 0; i < 7; i++) h.scheduler.schedule(h.stream('a', `a${i}`));
    assert.deepEqual(h.pumped, ['a0', 'a1', 'a2']);
    assert.deepEqual(h.runTurn(), ['a3', 'a4', 'a5']);
    assert.deepEqual(h.runTurn(), ['a6']);
    assert.equal(h.turns.length, 0, 'nothing left: no turn armed');
    h.scheduler.schedule(h.stream('a', 'a7'));
    assert.equal(h.pumped.at(-1), 'a7', 'after a quiet turn, at once again');
  });

  test('callers take turns: a thousand queued pushes of one caller delay another caller by one push', () => {
    const h = harness(PUSH_COST);
    h.scheduler.schedule(h.stream('abuser', 'first', 5_000));
    for (let i = 0; i < 1000; i++) h.scheduler.schedule(h.stream('abuser', `x${i}`, 5_000));
    h.scheduler.schedule(h.stream('victim', 'v'));
    assert.deepEqual(h.runTurn(), ['x0']);
    assert.deepEqual(h.runTurn(), ['v'], 'the victim is next, not after 999 more');
    assert.equal(h.scheduler.stats().work.get('victim'), PUSH_COST);
    assert.equal(h.scheduler.stats().work.get('abuser'), 10_000);
  });

  test('round-robin within a turn, one push per caller per round', () => {
    const h = harness(25 * PUSH_COST);
    for (let i = 0; i < 26; i++) h.scheduler.schedule(h.stream('a', `a${i}`)); // 25 at once, one queued
    for (const o of ['b', 'c']) for (let i = 0; i < 2; i++) h.scheduler.schedule(h.stream(o, `${o}${i}`));
    assert.deepEqual(h.runTurn(), ['a25', 'b0', 'c0', 'b1', 'c1']);
  });

  test('a push that throws on a later turn is reported and the others still run', () => {
    const h = harness(PUSH_COST);
    h.scheduler.schedule(h.stream('a', '0'));
    h.scheduler.schedule(h.stream('a', '1', PUSH_COST, true));
    h.scheduler.schedule(h.stream('b', '2'));
    while (h.turns.length) h.runTurn();
    assert.deepEqual(h.pumped, ['0', '1', '2']);
    assert.match(String(h.errors[0]), /stream 1 failed/);
  });
});
