// The catalogue of `trustplane lint` findings (istioctl analyze style). Codes are stable: a code is never reused
// for another meaning, and retired codes stay reserved.
export type Severity = 'error' | 'warning' | 'info';

export interface LintRule {
  readonly severity: Severity;
  readonly title: string;
  /** Why it matters and what to do. */
  readonly help: string;
}

export const LINT_CATALOG = {
  TP0001: {
    severity: 'error',
    title: 'client expects a SPIFFE ID no service has',
    help: 'An outbound dependency names a server ID in the mesh\'s own trust domain that no service holds, so no server can pass the SAN check. Fix the ID, or depend on the service by name.',
  },
  TP0002: {
    severity: 'warning',
    title: 'allowed caller that does not exist',
    help: 'allowedCallers names an ID in the mesh\'s own trust domain that no service holds; the entry admits nobody. Remove it or fix the ID.',
  },
  TP0003: {
    severity: 'error',
    title: 'STRICT server with a DISABLE client',
    help: 'A service whose own mode is DISABLE is not migrated yet and calls its dependencies in plaintext (the generator originates mTLS only when client and server are both out of DISABLE), so a STRICT port refuses it. Move the client out of DISABLE first, or keep the port PERMISSIVE.',
  },
  TP0004: {
    severity: 'warning',
    title: 'PERMISSIVE port left open',
    help: 'A PERMISSIVE port accepts plaintext from anyone, bypassing allowedCallers. Warning when every client in the mesh already uses mTLS (the port can go STRICT); info while a DISABLE client still needs plaintext.',
  },
  TP0005: {
    severity: 'warning',
    title: 'trust domain with no bundle',
    help: 'A federated trust domain has no bundleFile, so peers from it cannot be verified and mTLS with them fails. Add its bundle.',
  },
  TP0006: {
    severity: 'error',
    title: 'client not admitted by the server',
    help: 'A service calls a server port that uses mTLS, but the server\'s allowedCallers does not admit the client\'s SPIFFE ID; the RBAC filter will reject the calls. Add the client to allowedCallers or drop the dependency.',
  },
  TP0007: {
    severity: 'warning',
    title: 'identity no node may receive',
    help: 'A service lists no node principals, so no proxy is authorized to receive its SVID over SDS. Add nodes: [uid:<n>] or [node:<name>].',
  },
  TP0008: {
    severity: 'info',
    title: 'no allowedCallers: every member of the trust domain may call',
    help: 'Without allowedCallers any workload of the mesh\'s trust domain is admitted over mTLS. List the callers to narrow it.',
  },
  TP0009: {
    severity: 'warning',
    title: 'allowedCallers not enforced on a DISABLE port',
    help: 'A plaintext-only port carries no peer identity, so the allowedCallers of the service cannot be checked on it.',
  },
  TP0010: {
    severity: 'info',
    title: 'plaintext dependency outside the mesh',
    help: 'An external dependency with mode DISABLE is called in plaintext and its identity is not checked.',
  },
  TP0011: {
    severity: 'warning',
    title: 'allowedCallers admits nobody',
    help: 'An empty allowedCallers list rejects every mTLS caller. Remove the key to admit the whole trust domain, or list the callers.',
  },
} as const satisfies Record<string, LintRule>;

export type LintCode = keyof typeof LINT_CATALOG;
