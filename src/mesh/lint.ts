// `trustplane lint`: what will break or is unsafe in a valid description, before it ships. Pure over the model.
import { LINT_CATALOG, type LintCode, type Severity } from './lint-catalog.js';
import type { InboundPort, MeshModel, Service } from './model.js';

export interface LintFinding {
  readonly code: LintCode;
  readonly severity: Severity;
  readonly file: string;
  /** Field path of what the finding is about, e.g. `services[1].inbound[0]`. */
  readonly path: string;
  /** 1-based position of the path in the file, when known. */
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

export function lintMesh(model: MeshModel): LintFinding[] {
  const findings: LintFinding[] = [];
  const add = (code: LintCode, path: string, message: string, severity: Severity = LINT_CATALOG[code].severity) => {
    const pos = model.locate(path);
    findings.push({ code, severity, file: model.file, path, line: pos?.line, column: pos?.column, message });
  };
  const own = model.trustDomain;
  const clientsOf = clientIndex(model);

  for (const f of model.federation) {
    if (f.bundleFile === undefined && f.bundleEndpoint === undefined) add('TP0005', f.path, `federated trust domain "${f.trustDomain.name}" has no bundleFile`);
  }
  for (const s of model.services) {
    if (s.nodes.length === 0) add('TP0007', `${s.path}.nodes`, `no node principal may receive the identity of "${s.name}" (${s.spiffeId.toString()})`);
    lintCallers(model, s, add);
    for (const ib of s.inbound) lintPort(s, ib, clientsOf.get(portKey(s, ib.port)) ?? [], add);
    for (const ob of s.outbound) {
      if (ob.kind === 'external') {
        ob.spiffeIds.forEach((id, k) => {
          // An Istio service's identity is Istio's to issue, even when trustplane's CA is an intermediate under
          // Istio's root (and so shares the trust domain): no service of this description holds it.
          if (ob.istio === undefined && id.memberOf(own) && !model.serviceBySpiffeId(id)) {
            add('TP0001', `${ob.path}.spiffeIds[${k}]`, `dependency "${ob.name}" of "${s.name}" expects ${id.toString()}, which no service of the mesh has`);
          }
        });
        if (ob.serverMode === 'DISABLE') add('TP0010', ob.path, `dependency "${ob.name}" of "${s.name}" is called in plaintext`);
        continue;
      }
      const server = model.serviceByName(ob.service)!;
      if (ob.serverMode === 'STRICT' && s.mode === 'DISABLE') {
        add('TP0003', ob.path, `"${s.name}" is DISABLE but calls port ${ob.port} of "${server.name}", which is STRICT`);
      }
      if (ob.serverMode !== 'DISABLE' && !model.admitsCaller(server, s.spiffeId)) {
        add('TP0006', ob.path, `"${s.name}" (${s.spiffeId.toString()}) calls "${server.name}" port ${ob.port}, whose allowedCallers do not admit it`);
      }
    }
  }
  return findings.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0) || a.code.localeCompare(b.code));
}

type Add = (code: LintCode, path: string, message: string, severity?: Severity) => void;

function lintCallers(model: MeshModel, s: Service, add: Add): void {
  const ac = s.allowedCallers;
  if (ac.implicit) {
    if (s.inbound.length > 0) add('TP0008', s.path, `"${s.name}" has no allowedCallers: every member of "${model.trustDomain.name}" may call it`);
    return;
  }
  if (ac.rules.length === 0) add('TP0011', ac.path, `allowedCallers of "${s.name}" is empty: no mTLS caller is admitted`);
  for (const r of ac.rules) {
    if (r.kind === 'spiffeId' && r.spiffeId.memberOf(model.trustDomain) && !model.serviceBySpiffeId(r.spiffeId)) {
      add('TP0002', `${r.path}.spiffeId`, `allowed caller ${r.spiffeId.toString()} of "${s.name}" is not the identity of any service`);
    }
  }
}

function lintPort(s: Service, ib: InboundPort, clients: readonly Service[], add: Add): void {
  if (ib.mode === 'DISABLE' && !s.allowedCallers.implicit) {
    add('TP0009', ib.path, `port ${ib.port} of "${s.name}" is DISABLE, so its allowedCallers are not enforced there`);
  }
  if (ib.mode !== 'PERMISSIVE') return;
  const plaintext = clients.filter((c) => c.mode === 'DISABLE').map((c) => `"${c.name}"`);
  if (plaintext.length > 0) {
    add('TP0004', ib.path, `port ${ib.port} of "${s.name}" is PERMISSIVE; it can go STRICT once ${plaintext.join(', ')} ${plaintext.length === 1 ? 'leaves' : 'leave'} DISABLE`, 'info');
  } else {
    add('TP0004', ib.path, `port ${ib.port} of "${s.name}" is PERMISSIVE and accepts plaintext, though no client in the mesh needs it: it can go STRICT`);
  }
}

function portKey(s: Service, port: number): string {
  return `${s.name}:${port}`;
}

/** Mesh clients of each server port, so port findings can say who still needs plaintext. */
function clientIndex(model: MeshModel): Map<string, Service[]> {
  const index = new Map<string, Service[]>();
  for (const c of model.services) {
    for (const ob of c.outbound) {
      if (ob.kind !== 'service') continue;
      const key = `${ob.service}:${ob.port}`;
      const list = index.get(key) ?? [];
      if (!list.includes(c)) list.push(c);
      index.set(key, list);
    }
  }
  return index;
}
