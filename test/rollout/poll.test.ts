import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { pollStatus } from '../../src/rollout/poll.js';

test('pollStatus calls statusChanged every interval until stopped; a failing call is reported and polling goes on', () => {
  const clock = new ManualClock();
  let calls = 0;
  const errors: unknown[] = [];
  const target = {
    statusChanged() {
      calls++;
      if (calls === 2) throw new Error('push failed');
    },
  };
  const stop = pollStatus(target, clock, 1000, (e) => errors.push(e));
  clock.advance(999);
  assert.equal(calls, 0);
  clock.advance(1);
  assert.equal(calls, 1);
  clock.advance(1000);
  assert.equal(calls, 2);
  assert.match(String(errors[0]), /push failed/);
  clock.advance(1000);
  assert.equal(calls, 3, 'still polling after the failure');
  stop();
  clock.advance(5000);
  assert.equal(calls, 3);
});
