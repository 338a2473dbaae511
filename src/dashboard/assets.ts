// The dashboard's static files, all served by trustplane itself (no CDN): the page's script (compiled from
// src/dashboard/client with the rest of the project), its stylesheet, and uPlot from node_modules. Read once at
// start; each is served with a strong ETag so a reload costs a 304.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { TrustplaneError } from '../errors.js';
import { DASHBOARD_CSS } from './page.js';

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

function asset(body: string | Buffer, contentType: string): Asset {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  return { body: b, contentType, etag: `"${createHash('sha256').update(b).digest('base64url').slice(0, 22)}"` };
}

/** Assets by file name, as the page asks for them under /dashboard/assets/. */
export function loadAssets(): ReadonlyMap<string, Asset> {
  const out = new Map<string, Asset>();
  const require = createRequire(import.meta.url);
  try {
    out.set('uPlot.iife.min.js', asset(readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')), JS));
    out.set('uPlot.min.css', asset(readFileSync(require.resolve('uplot/dist/uPlot.min.css')), CSS));
    const clientDir = fileURLToPath(new URL('./client/', import.meta.url));
    for (const f of readdirSync(clientDir)) if (f.endsWith('.js')) out.set(f, asset(readFileSync(`${clientDir}${f}`), JS));
  } catch (err) {
    throw new TrustplaneError('DASHBOARD_ASSETS_MISSING', `the dashboard's files are missing (${(err as Error).message}); run \`npm ci\` (it builds them) and start again`);
  }
  if (!out.has('app.js')) throw new TrustplaneError('DASHBOARD_ASSETS_MISSING', 'the dashboard script app.js was not built; run `npm run build` and start again');
  out.set('dashboard.css', asset(DASHBOARD_CSS, CSS));
  return out;
}
