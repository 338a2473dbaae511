// /strict-check on the admin endpoint: the dry run `trustplane strict-check` reads. It names callers (SPIFFE IDs,
// source addresses), so only the operator gets it; /strict-check/SERVICE narrows it to one service.
import type { AdminHandler } from '../control-plane/admin-http.js';
import type { StrictCheckReport } from './strict-check.js';

export const STRICT_CHECK_PATH = '/strict-check';

/** `report` answers for every port, or one service's (a replica's reads every replica's evidence). */
export function strictCheckHandler(report: (service?: string) => StrictCheckReport): AdminHandler {
  return (_req, res, ctx) => {
    if (ctx.path !== STRICT_CHECK_PATH && !ctx.path.startsWith(`${STRICT_CHECK_PATH}/`)) return false;
    if (!ctx.operator) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('strict-check names callers; it is for the operator only\n');
      return true;
    }
    const service = ctx.path === STRICT_CHECK_PATH ? undefined : decodeURIComponent(ctx.path.slice(STRICT_CHECK_PATH.length + 1));
    const doc = report(service);
    if (service !== undefined && doc.ports.length === 0) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no service "${service}" with inbound ports in the mesh description\n`);
      return true;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(doc, null, 2)}\n`);
    return true;
  };
}
