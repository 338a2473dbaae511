// Until the xDS server reports status changes itself (see the rollout notes in index.ts), the control plane can
// have the controller look at the proxy status on a timer. Driven by a Clock, so tests advance it by hand.
import type { Clock, TimerHandle } from '../clock.js';

export interface StatusListener {
  statusChanged(): void;
}

/**
 * Calls statusChanged() every `everyMs` until stopped; returns the stop function. A failing call (e.g. the push
 * of a step failed) goes to `onError` and polling goes on: a timer callback must never throw.
 */
export function pollStatus(target: StatusListener, clock: Clock, everyMs: number, onError: (err: unknown) => void): () => void {
  let timer: TimerHandle | undefined;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    try {
      target.statusChanged();
    } catch (err) {
      onError(err);
    }
    if (!stopped) timer = clock.setTimer(everyMs, tick);
  };
  timer = clock.setTimer(everyMs, tick);
  return () => {
    stopped = true;
    timer?.cancel();
  };
}
