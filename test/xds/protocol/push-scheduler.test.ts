import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PushScheduler } from '../../../src/xds/push-scheduler.js';

/** A scheduler whose turns run only when the test says so. */
function harness(slice: number) {
  const turns: Array<() => void> = [];
  const pumped: number[] = [];
  const errors: unknown[] = [];
  const scheduler = new PushScheduler((e) => errors.push(e), slice, (fn) => turns.push(fn));
  const stream = (id: number, fail = false) => ({ pump: () => { pumped.push(id); if (fail) throw new Error(`stream ${id} failed`); } });
  const runTurn = (): void => turns.shift()!();
  return { scheduler, stream, pumped, errors, turns, runTurn };
}

describe('push scheduler: large fan-outs in slices, one slice per event-loop turn', () => {
  const cases: Array<{ name: string; slice: number; streams: number; perTurn: number[] }> = [
    { name: 'a fan-out within one slice is pushed at once', slice: 4, streams: 3, perTurn: [3] },
    { name: 'exactly one slice is pushed at once', slice: 4, streams: 4, perTurn: [4] },
    { name: 'ten streams with slices of four: four now, then four, then two', slice: 4, streams: 10, perTurn: [4, 4, 2] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const h = harness(c.slice);
      for (let i = 0; i < c.streams; i++) h.scheduler.schedule(h.stream(i));
      const seen = [h.pumped.length];
      while (h.turns.length) {
        const before = h.pumped.length;
        h.runTurn();
        if (h.pumped.length > before) seen.push(h.pumped.length - before);
      }
      assert.deepEqual(seen, c.perTurn);
      assert.deepEqual(h.pumped, [...Array(c.streams).keys()], 'in the order scheduled');
    });
  }

  test('after a quiet turn the next change is pushed at once again', () => {
    const h = harness(2);
    for (let i = 0; i < 3; i++) h.scheduler.schedule(h.stream(i));
    while (h.turns.length) h.runTurn();
    h.scheduler.schedule(h.stream(9));
    assert.equal(h.pumped.at(-1), 9);
  });

  test('a stream that throws on a later turn is reported and the others still get their push', () => {
    const h = harness(1);
    h.scheduler.schedule(h.stream(0));
    h.scheduler.schedule(h.stream(1, true));
    h.scheduler.schedule(h.stream(2));
    while (h.turns.length) h.runTurn();
    assert.deepEqual(h.pumped, [0, 1, 2]);
    assert.match(String(h.errors[0]), /stream 1 failed/);
  });
});
