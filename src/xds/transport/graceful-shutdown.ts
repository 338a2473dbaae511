// Graceful shutdown: stop accepting, send GOAWAY on every connection so proxies open new streams elsewhere, give
// open streams a bounded time to end, then cancel whatever is left. The bound is on the Clock so tests can drive it.
import type * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../clock.js';

export const DEFAULT_DRAIN_MS = 10_000;

/** Resolves once the server has fully stopped; `forced` tells whether streams had to be cancelled. */
export function shutdownGracefully(server: grpc.Server, clock: Clock, drainMs = DEFAULT_DRAIN_MS): Promise<{ forced: boolean }> {
  return new Promise((resolve) => {
    let settled = false;
    const timer = clock.setTimer(drainMs, () => {
      if (settled) return;
      settled = true;
      server.forceShutdown();
      resolve({ forced: true });
    });
    // tryShutdown closes the listeners and calls session.close(), which sends GOAWAY and lets open streams finish.
    server.tryShutdown(() => {
      if (settled) return;
      settled = true;
      timer.cancel();
      resolve({ forced: false });
    });
  });
}
