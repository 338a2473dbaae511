// When a federated bundle is fetched again. Pure: the refresher asks, the clock waits.
//
// - After a success: the bundle's spiffe_refresh_hint (SPIFFE Federation §4.1), five minutes when it has none,
//   bounded to [MIN_REFRESH_MS, MAX_REFRESH_MS] so neither a tiny hint hammers the endpoint nor a huge one leaves a
//   rotation unseen for days.
// - After a failure: exponential backoff from RETRY_BASE_MS, doubling per consecutive failure, never beyond the
//   refresh interval (§6.2: retry no more aggressively than the polling interval), each delay drawn uniformly from
//   its upper half so that many clients of one endpoint spread out.

export const DEFAULT_REFRESH_HINT_S = 300;
export const MIN_REFRESH_MS = 30_000;
export const MAX_REFRESH_MS = 3_600_000;
export const RETRY_BASE_MS = 5_000;

export function refreshIntervalMs(refreshHintSeconds: number | undefined): number {
  const hintMs = (refreshHintSeconds === undefined || refreshHintSeconds === 0 ? DEFAULT_REFRESH_HINT_S : refreshHintSeconds) * 1000;
  return Math.min(MAX_REFRESH_MS, Math.max(MIN_REFRESH_MS, hintMs));
}

/** Delay before retry number `failures` (1 = the first retry), capped at `intervalMs`; random() in [0, 1). */
export function retryDelayMs(failures: number, intervalMs: number, random: () => number): number {
  const ceiling = Math.min(intervalMs, RETRY_BASE_MS * 2 ** Math.min(Math.max(failures, 1) - 1, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
