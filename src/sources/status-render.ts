// One line about the identity source above `trustplane status`'s proxy table: silent for the embedded CA (the
// default, nothing to say), and for a Workload API upstream whether it is followed, since when it is not, and
// which declared identities it does not give.
import type { IdentitySourceStatus } from './identity-source.js';

export function renderIdentitySourceLine(s: IdentitySourceStatus | undefined): string {
  if (!s || s.kind !== 'workload-api') return '';
  const missing = Array.isArray(s['missing']) ? (s['missing'] as string[]) : [];
  const state = s['connected'] ? 'connected' : `UNREACHABLE since ${String(s['disconnectedSince'] ?? 'start')} (${String(s['lastError'] ?? 'no response yet')})${s['servingLastSvids'] ? ', serving the last SVIDs' : ''}`;
  const gaps = missing.length ? `; not given: ${missing.join(', ')}` : '';
  return `Identity source: Workload API at ${String(s['address'])}, ${state}${gaps}\n\n`;
}
