import type { SpiffeId } from './id.js';
import type { TrustDomain } from './trust-domain.js';

/** Decides whether a peer's (already verified) SPIFFE ID is authorized. */
export type SpiffeIdMatcher = (id: SpiffeId) => boolean;

export function matchId(expected: SpiffeId): SpiffeIdMatcher {
  return (id) => id.equals(expected);
}

export function matchOneOf(...expected: SpiffeId[]): SpiffeIdMatcher {
  const set = new Set(expected.map((e) => e.toString()));
  return (id) => set.has(id.toString());
}

export function matchMemberOf(td: TrustDomain): SpiffeIdMatcher {
  return (id) => id.memberOf(td);
}

export function matchAny(): SpiffeIdMatcher {
  return () => true;
}
