// Problems found in a mesh description. All of them are collected before anything is reported, so a user
// fixes a file in one pass instead of one error per run.
import { TrustplaneError } from '../errors.js';

/** Stable codes: programs, metrics and the docs key on these, so they never change meaning. */
export const MESH_PROBLEM_CODES = {
  YAML_SYNTAX: 'the file is not valid YAML',
  DUPLICATE_KEY: 'a key appears twice in one map',
  UNKNOWN_KEY: 'a key the description does not define',
  WRONG_TYPE: 'a value of the wrong type (string, integer, list, map)',
  MISSING_FIELD: 'a required field is absent',
  CONFLICTING_FIELDS: 'fields that exclude each other are both set',
  INVALID_ENUM: 'a value outside its fixed set (mode, protocol, target, format)',
  OUT_OF_RANGE: 'an integer (port) outside its range',
  EMPTY_LIST: 'a list that must have at least one item is empty',
  INVALID_NAME: 'a service or dependency name that is not a DNS label',
  INVALID_ADDRESS: 'an address that is neither a host name nor an IP address',
  INVALID_SPIFFE_ID: 'a string that is not a valid SPIFFE ID',
  INVALID_TRUST_DOMAIN: 'a string that is not a valid trust domain name',
  INVALID_PRINCIPAL: 'a node principal that is not uid:<n> or node:<name>',
  INVALID_HOST: 'a gateway host that is not a lower-case DNS name or *.<name>',
  INVALID_PATH_PREFIX: 'a route path prefix that is not a URL path starting with "/"',
  INVALID_PATH: 'a file path that is not absolute',
  INVALID_SNI: 'a TLS server name with characters SNI does not allow',
  INVALID_ALPN: 'an ALPN protocol ID that is not printable ASCII',
  INVALID_BUNDLE_ENDPOINT_URL: 'a bundle endpoint URL that is not https or carries userinfo (SPIFFE Federation §5.2)',
  DUPLICATE_SERVICE_NAME: 'two services with the same name',
  DUPLICATE_SPIFFE_ID: 'two services with the same SPIFFE ID',
  DUPLICATE_TRUST_DOMAIN: 'a trust domain federated twice, or federated with itself',
  DUPLICATE_PORT: 'a port a service\'s proxy or application would bind twice',
  DUPLICATE_DEPENDENCY: 'two outbound dependencies of one service with the same name',
  ID_OUTSIDE_TRUST_DOMAIN: 'a service SPIFFE ID outside the mesh\'s own trust domain',
  RESERVED_SPIFFE_ID: 'a SPIFFE ID under /trustplane/ of the own trust domain (the server\'s and nodes\' identities)',
  UNKNOWN_TRUST_DOMAIN: 'a SPIFFE ID in a trust domain that is neither the own nor a federated one',
  UNKNOWN_SERVICE: 'a reference to a service the description does not have',
  UNKNOWN_PORT: 'a dependency on a port the server service does not expose',
  UNKNOWN_DEPENDENCY: 'a gateway route to a dependency the gateway does not declare under outbound',
  UNKNOWN_HOST: 'a gateway route for a host no gateway listener serves',
  DUPLICATE_HOST: 'a host served by two listener entries on one port (the TLS server name could not choose)',
  DUPLICATE_ROUTE: 'two gateway routes with the same host and path prefix',
  WRONG_PROTOCOL: 'a gateway route to a dependency, or a port with requireJwt, that does not speak HTTP',
  NOT_FOR_TARGET: 'a field the service\'s target does not use (gateway: needs target gateway; istio/sni/alpn need target vm or gateway)',
} as const;

export type MeshProblemCode = keyof typeof MESH_PROBLEM_CODES;

export interface MeshProblem {
  readonly code: MeshProblemCode;
  readonly file: string;
  /** 1-based; 0 when the problem has no place in the file (e.g. an empty file). */
  readonly line: number;
  readonly column: number;
  /** Field path such as `services[2].inbound[0].port`; '' for the document itself. */
  readonly path: string;
  /** What is wrong, in one sentence, without the location. */
  readonly message: string;
  readonly found?: string;
  readonly accepted?: string;
}

/** `mesh.yaml:12:9: services[2].inbound[0].port: port 70000 is out of range (found 70000; accepted ...)` */
/**
 * Problems quote what they found, and a mistyped path can make a key file the "mesh description": long strings and
 * anything that looks like key material (a PEM block, a long base64 run) are described, never repeated.
 */
export function redactExcerpt(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return text
    .replace(/-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g, (m) => `[PEM block of ${m.length} characters, not shown]`)
    .replace(/[A-Za-z0-9+/=_-]{24,}/g, (m) => (/[A-Z]/.test(m) && /[a-z]/.test(m) && /[0-9]/.test(m) ? `[${m.length} base64-like characters, not shown]` : m))
    .replace(/^(.{200}).{20,}$/s, (_m, head: string) => `${head}… (${text.length} characters)`);
}

/** Builds a problem with its quoted parts redacted (see redactExcerpt). */
export function problem(p: MeshProblem): MeshProblem {
  return { ...p, path: redactExcerpt(p.path)!, message: redactExcerpt(p.message)!, found: redactExcerpt(p.found), accepted: p.accepted };
}

export function formatProblem(p: MeshProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  const field = p.path === '' ? '' : ` ${p.path}:`;
  const detail: string[] = [];
  if (p.found !== undefined) detail.push(`found ${p.found}`);
  if (p.accepted !== undefined) detail.push(`accepted: ${p.accepted}`);
  return `${where}:${field} ${p.message}${detail.length > 0 ? ` (${detail.join('; ')})` : ''}`;
}

export class MeshError extends TrustplaneError {
  readonly problems: readonly MeshProblem[];
  constructor(file: string, problems: readonly MeshProblem[]) {
    const n = problems.length;
    super(
      'MESH_INVALID',
      `${file}: ${n} problem${n === 1 ? '' : 's'} in the mesh description:\n` +
        problems.map((p) => `  ${formatProblem(p)}`).join('\n'),
    );
    this.problems = Object.freeze([...problems]);
  }
}

/** Nearest accepted word for a typo: same letters ignoring case/`_`/`-`, else edit distance within a third. */
export function suggestKey(found: string, accepted: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const exact = accepted.find((a) => norm(a) === norm(found));
  if (exact !== undefined) return exact;
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(found.length / 3)) + 1;
  for (const a of accepted) {
    const d = editDistance(norm(found), norm(a));
    if (d < bestDistance) {
      best = a;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}
