// The control plane's HTTP side: health for orchestrators, metrics for Prometheus, and the JSON that
// `trustplane status` and `trustplane rollout status` read. Loopback by default; nothing here carries key material.
// /live /ready /metrics are public; every other page is the operator's (see admin-access.ts for who that is).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TrustplaneError } from '../errors.js';
import { bindError } from '../xds/transport/grpc-bind.js';
import { refuse } from './admin-access.js';

export interface AdminRoutes {
  /** Ready = holds a valid identity to serve with. */
  ready(): { ready: boolean; reason?: string };
  metrics(): Promise<{ contentType: string; body: string }>;
  /** JSON documents by path: /status, /mesh, /rollout, ... (operator only); an AdminNotFound says what is missing. */
  json(path: string): unknown | undefined;
  /**
   * Whether this request comes from the operator (may see identities of proxies); undefined = everyone may.
   * Pages that show identities (status, dashboard) decide with it; /live /ready /metrics never show identities.
   */
  isOperator?(req: IncomingMessage): boolean;
  /** Further pages (the dashboard, ...): each returns true when it answered the request. Tried before json(). */
  handlers?: readonly AdminHandler[];
}

export interface AdminRequestContext {
  readonly path: string;
  readonly url: URL;
  readonly operator: boolean;
}

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, ctx: AdminRequestContext) => boolean | Promise<boolean>;

/** A json() answer for a path that names something that does not exist (a proxy, ...): 404 with this message. */
export class AdminNotFound {
  constructor(readonly message: string) {}
}

export interface AdminServer {
  readonly address: string;
  close(): Promise<void>;
}

export async function startAdminServer(address: string, routes: AdminRoutes): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://admin');
      const path = url.pathname.replace(/\/+$/, '') || '/';
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      if (path === '/live') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      }
      if (path === '/ready') {
        const r = routes.ready();
        res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(r.ready ? `ready${r.reason ? ` (${r.reason})` : ''}\n` : `not ready: ${r.reason ?? ''}\n`);
        return;
      }
      if (path === '/metrics') {
        const m = await routes.metrics();
        res.writeHead(200, { 'content-type': m.contentType }).end(m.body);
        return;
      }
      const ctx: AdminRequestContext = { path, url, operator: routes.isOperator?.(req) ?? true };
      for (const h of routes.handlers ?? []) if (await h(req, res, ctx)) return;
      if (!ctx.operator) {
        refuse(req, res);
        return;
      }
      const doc = routes.json(path);
      if (doc instanceof AdminNotFound) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`${doc.message}\n`);
        return;
      }
      if (doc === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`no such endpoint ${path}; try /live /ready /metrics /status /mesh /rollout\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(doc, null, 2)}\n`);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${(err as Error).message}\n`);
    });
  });
  const { host, port } = splitHostPort(address, 'admin address');
  await new Promise<void>((ok, fail) => {
    server.once('error', (err) => fail(bindError(err, address, 'admin')));
    server.listen(port, host, () => ok());
  });
  const bound = server.address() as AddressInfo;
  return {
    address: `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`,
    // Open responses (a dashboard's event stream, a keep-alive client) must not hold a shutdown open.
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

export function splitHostPort(address: string, what = 'address'): { host: string; port: number } {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
  if (!m || Number(m[2]) > 65535) throw new TrustplaneError('ADDRESS_INVALID', `${what} "${address}" is not HOST:PORT (e.g. 127.0.0.1:18080)`);
  return { host: m[1]!, port: Number(m[2]) };
}

/** Whether a host:port listens on loopback only. */
export function isLoopback(address: string): boolean {
  const { host } = splitHostPort(address);
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
