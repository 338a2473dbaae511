// The synthetic mesh the generator and reload benchmarks (and the incremental-reload tests) use: n sidecar
// services, each with one inbound port, calling the next three services and called by the previous three, modes
// and protocols in rotation. editService() is the one-service edit bench/reload measures.

const MODES = ['STRICT', 'PERMISSIVE', 'STRICT', 'DISABLE'];
const PROTOCOLS = ['http', 'grpc', 'tcp'];
export const SYNTHETIC_TRUST_DOMAIN = 'bench.example.org';

function serviceLines(n: number, i: number, appPort = 8080, listenPortBase = 15100): string[] {
  const lines = [
    `  - name: s${i}`,
    `    spiffeId: spiffe://${SYNTHETIC_TRUST_DOMAIN}/ns/n${i % 50}/sa/s${i}`,
    `    nodes: [uid:${10000 + i}]`,
    `    mode: ${MODES[i % MODES.length]}`,
    `    inbound:`,
    `      - { port: 15006, appPort: ${appPort}, protocol: ${PROTOCOLS[i % PROTOCOLS.length]} }`,
    `    outbound:`,
  ];
  for (let k = 1; k <= 3; k++) lines.push(`      - { service: s${(i + k) % n}, listenPort: ${listenPortBase + k} }`);
  lines.push('    allowedCallers:');
  for (let k = 1; k <= 3; k++) lines.push(`      - service: s${(i - k + n) % n}`);
  return lines;
}

export interface SyntheticOptions {
  /** Every service's application port (8080 by default). */
  readonly appPort?: number;
  /** Where every service's outbound listen ports start (15100 by default: 15101, 15102, 15103). */
  readonly listenPortBase?: number;
  /** One service (by index) with another application port: an edit only its own resources see. */
  readonly edited?: { readonly service: number; readonly appPort: number };
}

/** The description of n services. */
export function syntheticMesh(n: number, opts: SyntheticOptions = {}): string {
  const lines = [`trustDomain: ${SYNTHETIC_TRUST_DOMAIN}`, 'services:'];
  for (let i = 0; i < n; i++) lines.push(...serviceLines(n, i, opts.edited?.service === i ? opts.edited.appPort : (opts.appPort ?? 8080), opts.listenPortBase));
  return lines.join('\n') + '\n';
}
