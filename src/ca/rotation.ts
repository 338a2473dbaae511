// When the CA prepares, activates and drops signing keys (SPIRE's prepared → active → old journal), as pure
// functions of the certificates' validity so the schedule survives restarts without extra state.
//
//   notBefore ───── 1/2: prepare (publish) ───── 5/6: activate ─── notAfter
//                                                 (or earlier, when a full SVID TTL no longer fits)
// An old CA leaves the bundle once every SVID it signed has expired (its issuedUntil).

export interface Validity {
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Shortest time a prepared CA is in the bundle before it may sign, so proxies receive it first. */
export function publishLeadMs(svidTtlMs: number): number {
  return Math.min(5 * 60_000, svidTtlMs / 4);
}

export function activationDue(active: Validity, svidTtlMs: number): number {
  const life = active.notAfter - active.notBefore;
  return Math.min(active.notBefore + Math.floor((life * 5) / 6), active.notAfter - svidTtlMs);
}

export function preparationDue(active: Validity, svidTtlMs: number): number {
  const life = active.notAfter - active.notBefore;
  return Math.min(active.notBefore + Math.floor(life / 2), activationDue(active, svidTtlMs) - publishLeadMs(svidTtlMs));
}

/** The earliest a prepared CA (published at `publishedAt`) takes over from `active`. */
export function activationTime(active: Validity, publishedAt: number, svidTtlMs: number): number {
  return Math.max(activationDue(active, svidTtlMs), publishedAt + publishLeadMs(svidTtlMs));
}

/** The CA TTL must leave room for a prepared CA to be published well before it signs. */
export function minimumCaTtlMs(svidTtlMs: number): number {
  return 3 * svidTtlMs;
}
