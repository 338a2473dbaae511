// `trustplane strict-check`: a dry run of STRICT on every port (or one service's), from the description and the
// traffic evidence of the window. Per port, who STRICT with the port's allowedCallers would break now:
//   - plaintext sources seen in the window (STRICT refuses every plaintext connection);
//   - mTLS callers seen in the window whose SPIFFE ID allowedCallers does not admit, and callers the port's RBAC
//     already denied (STRICT keeps refusing them);
//   - mesh clients that call the port in plaintext by their own description (mode DISABLE).
// Pure: the document /strict-check serves and the CLI renders.
import type { MeshModel, Mode, Service } from '../mesh/model.js';
import { SpiffeId } from '../spiffe/id.js';
import type { Readiness, SourceCount, TrafficEvidenceView } from './evidence-view.js';
import { NO_SPIFFE_ID } from './classify.js';
import { OTHER_SOURCE } from './evidence.js';

export interface DeniedCaller extends SourceCount {
  /**
   * mtls_not_allowed = seen over mTLS, allowedCallers would not admit it; rbac_denied = already refused by RBAC;
   * not_checked = callers past the per-port source bound, counted together as "other" and so not checked one by one.
   */
  readonly why: 'mtls_not_allowed' | 'rbac_denied' | 'not_checked';
}

export interface StrictCheckPort {
  readonly service: string;
  readonly port: number;
  readonly asked: Mode;
  /** `force: true` in the description: STRICT goes in whatever this report says. */
  readonly force: boolean;
  readonly readiness: Readiness;
  readonly reason: string;
  readonly plaintextSources: readonly SourceCount[];
  /** Callers STRICT with allowedCallers would refuse (and callers past the source bound, not checked). */
  readonly deniedCallers: readonly DeniedCaller[];
  /** Mesh clients of this port whose own mode is DISABLE: they call it in plaintext by description. */
  readonly plaintextClients: readonly string[];
  readonly handshakeFailures: number;
  /** Whether STRICT now would break something the lists above name. */
  readonly breaks: boolean;
}

export interface StrictCheckReport {
  readonly windowMs: number;
  readonly at: string;
  readonly ports: readonly StrictCheckPort[];
}

function admits(mesh: MeshModel, service: Service, caller: string): boolean {
  if (caller === NO_SPIFFE_ID) return false;
  let id: SpiffeId;
  try {
    id = SpiffeId.parse(caller);
  } catch {
    return false;
  }
  return mesh.admitsCaller(service, id);
}

/**
 * `evidence` is this server's own, or on a replica every replica's merged (src/replica/global-evidence.ts): a
 * caller may send its plaintext to any replica.
 */
export function strictCheck(mesh: MeshModel, evidence: TrafficEvidenceView, at: number, service?: string): StrictCheckReport {
  const ports: StrictCheckPort[] = [];
  for (const s of mesh.services) {
    if (service !== undefined && s.name !== service) continue;
    for (const ib of s.inbound) {
      const e = evidence.port(s.name, ib.port);
      const r = e ? { readiness: e.readiness, reason: e.readinessReason } : { readiness: 'no_evidence' as const, reason: 'no evidence' };
      // "other" aggregates callers past the per-port bound: they cannot be checked one by one, so it is listed as such.
      const mtlsCallers = e?.mtlsCallers ?? [];
      const deniedCallers: DeniedCaller[] = [
        ...mtlsCallers.filter((c) => c.source !== OTHER_SOURCE && !admits(mesh, s, c.source)).map((c) => ({ ...c, why: 'mtls_not_allowed' as const })),
        ...mtlsCallers.filter((c) => c.source === OTHER_SOURCE).map((c) => ({ ...c, why: 'not_checked' as const })),
        ...(e?.rbacDeniedCallers ?? []).map((c) => ({ ...c, why: 'rbac_denied' as const })),
      ];
      const plaintextClients = mesh.services.filter((c) => c.mode === 'DISABLE' && c.outbound.some((d) => d.kind === 'service' && d.service === s.name && d.port === ib.port)).map((c) => c.name);
      const plaintextSources = e?.plaintextSources ?? [];
      ports.push({
        service: s.name,
        port: ib.port,
        asked: ib.mode,
        force: ib.force,
        readiness: r.readiness,
        reason: r.reason,
        plaintextSources,
        deniedCallers,
        plaintextClients,
        handshakeFailures: e?.window.handshakeFailures ?? 0,
        breaks: plaintextSources.length > 0 || deniedCallers.some((c) => c.why !== 'not_checked') || plaintextClients.length > 0,
      });
    }
  }
  return { windowMs: evidence.windowMs, at: new Date(at).toISOString(), ports };
}

const TABLE_HEAD = ['SERVICE', 'PORT', 'ASKED', 'EVIDENCE', 'STRICT WOULD BREAK'];
const conns = (n: number, what = 'connection'): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** Text for the CLI: one row per port, a continuation row per further caller. */
export function renderStrictCheck(report: StrictCheckReport): string {
  if (report.ports.length === 0) return 'No inbound ports to check.\n';
  const rows: string[][] = [TABLE_HEAD];
  for (const p of report.ports) {
    const lines: string[] = [
      ...p.plaintextSources.map((s) => `plaintext from ${s.source}: ${conns(s.count)}, last seen ${s.lastSeen}`),
      ...p.deniedCallers.map((c) =>
        c.why === 'not_checked'
          ? `other callers: ${conns(c.count, 'mTLS connection')} past the per-port source bound, not checked one by one (raise --evidence-sources), last seen ${c.lastSeen}`
          : c.why === 'rbac_denied'
            ? `${c.source}: ${conns(c.count)} denied by RBAC, last seen ${c.lastSeen}`
            : `${c.source}: ${conns(c.count, 'mTLS connection')}, not in allowedCallers, last seen ${c.lastSeen}`,
      ),
      ...p.plaintextClients.map((c) => `mesh client ${c} calls in plaintext (its mode is DISABLE)`),
    ];
    if (lines.length === 0) lines.push(p.readiness === 'no_evidence' ? 'unknown: no evidence' : p.readiness === 'ready' ? 'nothing' : `nothing seen (${p.reason})`);
    const evidence = p.readiness === 'no_evidence' ? 'no evidence' : p.readiness === 'ready' ? 'ready' : 'not ready';
    const asked = p.force ? `${p.asked} (force)` : p.asked;
    lines.forEach((l, i) => rows.push(i === 0 ? [p.service, String(p.port), asked, evidence, l] : ['', '', '', '', l]));
  }
  const widths = TABLE_HEAD.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n')}\n`;
}
