// A running control plane (the real one: CA, xDS + ALS on a Unix socket, admin HTTP) over a mesh file the test
// rewrites, on a manual clock. The socket's principal is this process's uid; the mesh gives that uid the services
// orders, web and greeter, and another uid the service payments.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ManualClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { adminTokenFile } from '../../src/control-plane/admin-access.js';
import { createLogger } from '../../src/observe/log.js';
import type { TrafficConfig } from '../../src/traffic/traffic.js';

export const UID = process.getuid?.() ?? 0;
export const OTHER_UID = UID + 4242;
export const WEB_ID = 'spiffe://example.org/ns/shop/sa/web';
export const REPORTS_ID = 'spiffe://example.org/ns/batch/sa/reports';

export interface MeshKnobs {
  readonly orders?: string;
  readonly web?: string;
  readonly webForce?: boolean;
  readonly greeter?: string;
  readonly accessLogs?: boolean;
}

export function meshText(k: MeshKnobs = {}): string {
  return `trustDomain: example.org
defaultMode: PERMISSIVE
${k.accessLogs === false ? 'accessLogs: false\n' : ''}services:
  - name: orders
    spiffeId: spiffe://example.org/ns/shop/sa/orders
    nodes: [uid:${UID}, node:orders-1]
    mode: ${k.orders ?? 'PERMISSIVE'}
    inbound:
      - port: 9000
        appPort: 8000
      - port: 9001
        appPort: 8001
        protocol: http
    allowedCallers:
      - service: web
  - name: web
    spiffeId: ${WEB_ID}
    nodes: [uid:${UID}]
    mode: ${k.web ?? 'PERMISSIVE'}
${k.webForce ? '    force: true\n' : ''}    inbound:
      - port: 9100
        appPort: 8100
    outbound:
      - service: orders
        port: 9000
  - name: payments
    spiffeId: spiffe://example.org/ns/shop/sa/payments
    nodes: [uid:${OTHER_UID}]
    inbound:
      - port: 9200
        appPort: 8200
  - name: greeter
    spiffeId: spiffe://example.org/ns/shop/sa/greeter
    target: grpc
    nodes: [uid:${UID}]
    mode: ${k.greeter ?? 'PERMISSIVE'}
    inbound:
      - port: 50051
        appPort: 50052
        protocol: grpc
`;
}

export interface Running {
  readonly cp: ControlPlane;
  readonly clock: ManualClock;
  readonly dir: string;
  readonly meshFile: string;
  readonly socket: string;
  readonly admin: string;
  /** The data directory (`--data-dir` for the admin commands, which read the operator token there). */
  readonly dataDir: string;
  /** Headers of an operator request to the admin address (the token `serve` wrote). */
  readonly operator: Record<string, string>;
  logs(): string;
  /** Rewrites the mesh file and reloads; throws on a rejected description. */
  reload(k: MeshKnobs): void;
  close(): Promise<void>;
}

export async function startRunning(k: MeshKnobs = {}, traffic: TrafficConfig = {}, opts: { tcp?: boolean; start?: number; drainMs?: number } = {}): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-traffic-'));
  const meshFile = join(dir, 'mesh.yaml');
  writeFileSync(meshFile, meshText(k));
  // A fixed start makes times in reasons exact; TLS over TCP needs the host's time (certificates are checked by it).
  const clock = new ManualClock(opts.start ?? Date.UTC(2026, 5, 1, 12, 0, 0));
  let logs = '';
  const logger = createLogger({ level: 'debug', destination: new Writable({ write(chunk, _e, done) { logs += String(chunk); done(); } }) });
  const socket = join(dir, 'data', 'xds.sock');
  const cp = await ControlPlane.start(
    { dataDir: join(dir, 'data'), meshFile, unixSocket: socket, tcpAddress: opts.tcp ? '127.0.0.1:0' : '', adminAddress: '127.0.0.1:0', insecure: false, drainMs: opts.drainMs ?? 0, traffic },
    { clock, logger, watch: false },
  );
  return {
    cp,
    clock,
    dir,
    meshFile,
    socket,
    admin: cp.adminAddress!,
    dataDir: join(dir, 'data'),
    operator: { authorization: `Bearer ${readFileSync(adminTokenFile(join(dir, 'data')), 'utf8').trim()}` },
    logs: () => logs,
    reload(next) {
      writeFileSync(meshFile, meshText(next));
      const r = cp.reload();
      if (!r.ok) throw new Error(r.problems.join('; '));
    },
    async close() {
      await cp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
