// Whether the evidence says STRICT is safe on a port now: over the window it served mTLS and no plaintext.
// Targets that send no access logs have no evidence, which is never "ready". Pure.
import type { MeshModel, Service } from '../mesh/model.js';
import type { Readiness, SourceCount, WindowCounts } from './evidence-view.js';

/** Whether a service's ports send access logs: not proxyless gRPC (no Envoy), and not with `accessLogs: false`. */
export function sendsEvidence(model: MeshModel, service: Service): boolean {
  return model.accessLogs && service.target !== 'grpc';
}

const MAX_LISTED = 5;

export function durationText(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`;
}

/** "10.0.0.7 (12, last seen 2026-…), …": the first few sources, most first. */
export function describeSources(sources: readonly SourceCount[]): string {
  const listed = sources.slice(0, MAX_LISTED).map((s) => `${s.source} (${s.count}, last seen ${s.lastSeen})`);
  const more = sources.length > MAX_LISTED ? ` and ${sources.length - MAX_LISTED} more` : '';
  return `${listed.join(', ')}${more}`;
}

export function readinessOf(evidenceAvailable: boolean, window: WindowCounts, plaintextSources: readonly SourceCount[], windowMs: number): { readiness: Readiness; reason: string } {
  if (!evidenceAvailable) return { readiness: 'no_evidence', reason: 'no evidence: this target sends no access logs (proxyless gRPC, or accessLogs: false)' };
  const span = durationText(windowMs);
  if (window.plaintext > 0) return { readiness: 'not_ready', reason: `plaintext in the last ${span} from ${describeSources(plaintextSources)}` };
  if (window.mtls === 0) return { readiness: 'not_ready', reason: `no mTLS connection seen in the last ${span}` };
  return { readiness: 'ready', reason: `${window.mtls} mTLS and no plaintext connections in the last ${span}` };
}
