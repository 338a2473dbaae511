// The dashboard's routes on the admin address, as an AdminHandler: the page, its assets, the JSON document and the
// event stream. Only GET reaches here (the admin server refuses other methods), and nothing here changes state.
// Who sees what: the document shows proxies' identities, so the page, the JSON and the events are for the operator
// only (admin-access.ts says who that is); anyone else gets a 401 (403 with wrong credentials) and how to get in: one
// line for programs, a page for browsers. Assets carry no data. The admin root leads here: a login link lands on /.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { presentsCredentials, refuse } from '../control-plane/admin-access.js';
import type { AdminHandler } from '../control-plane/admin-http.js';
import type { Asset } from './assets.js';
import type { LiveFeed } from './live-feed.js';
import { DASHBOARD_HTML, signInPage } from './page.js';

export const DASHBOARD_PATH = '/dashboard';

export interface DashboardHttpOptions {
  /** The document, as JSON on one line. */
  readonly document: () => string;
  readonly feed: LiveFeed;
  readonly assets: ReadonlyMap<string, Asset>;
  /** One sentence for a browser that is not the operator's: how the operator gets in. */
  readonly howToSignIn: () => string;
}

// The page loads only what trustplane serves; no inline script, no other origin. uPlot sets styles from script,
// which style-src does not govern.
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

export function dashboardHandler(opts: DashboardHttpOptions): AdminHandler {
  const signIn = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(presentsCredentials(req) ? 403 : 401, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS }).end(signInPage(opts.howToSignIn()));
  };

  return (req: IncomingMessage, res: ServerResponse, ctx): boolean => {
    const { path } = ctx;
    if (path === '/') {
      res.writeHead(302, { location: DASHBOARD_PATH, 'cache-control': 'no-store' }).end();
      return true;
    }
    if (path !== DASHBOARD_PATH && !path.startsWith(`${DASHBOARD_PATH}/`)) return false;
    const sub = path.slice(DASHBOARD_PATH.length);

    if (sub.startsWith('/assets/')) {
      const a = opts.assets.get(sub.slice('/assets/'.length));
      if (!a) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`no such dashboard asset ${path}\n`);
        return true;
      }
      const headers = { 'content-type': a.contentType, etag: a.etag, 'cache-control': 'no-cache', ...SECURITY_HEADERS };
      if (req.headers['if-none-match'] === a.etag) res.writeHead(304, headers).end();
      else res.writeHead(200, { ...headers, 'content-length': a.body.length }).end(a.body);
      return true;
    }
    if (sub === '') {
      if (!ctx.operator) signIn(req, res);
      else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS }).end(DASHBOARD_HTML);
      return true;
    }
    if (sub === '/api') {
      if (!ctx.operator) refuse(req, res);
      else res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', ...SECURITY_HEADERS }).end(`${opts.document()}\n`);
      return true;
    }
    if (sub === '/events') {
      if (!ctx.operator) refuse(req, res);
      else if (!opts.feed.attach(res)) {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '10', ...SECURITY_HEADERS })
          .end(`too many open dashboards (at most ${opts.feed.maxClients} live pages at once); close another dashboard tab and reload\n`);
      }
      return true;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`no such dashboard page ${path}; the dashboard is at ${DASHBOARD_PATH}, its JSON at ${DASHBOARD_PATH}/api\n`);
    return true;
  };
}
