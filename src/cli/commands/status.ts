import { DEFAULT_ADMIN_ADDRESS } from '../../control-plane/config.js';
import { TrustplaneError } from '../../errors.js';
import type { ProxyStatusSnapshot } from '../../xds/status/proxy-status.js';
import { renderProxySecrets, renderProxyStatusTable } from '../../xds/status/status-render.js';
import { defineCommand } from '../command.js';
import type { IdentitySourceStatus } from '../../sources/identity-source.js';
import { renderIdentitySourceLine } from '../../sources/status-render.js';

export const adminOption = { admin: { type: 'string' } } as const;

/** GETs a JSON document from a running control plane's admin endpoint. */
export async function fetchAdmin<T>(admin: string | undefined, path: string): Promise<T> {
  const url = `http://${admin ?? DEFAULT_ADMIN_ADDRESS}${path}`;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new TrustplaneError('ADMIN_UNREACHABLE', `cannot reach the control plane at ${url} (${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}); is \`trustplane serve\` running, and is --admin right?`);
  }
  if (res.status === 404) throw new TrustplaneError('ADMIN_NOT_FOUND', `${url}: not found`);
  if (!res.ok) throw new TrustplaneError('ADMIN_ERROR', `${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export const status = defineCommand({
  path: ['status'],
  summary: 'per connected proxy and type: SYNCED / STALE / NACKED / NOT SENT (like istioctl proxy-status)',
  usage: `Usage: trustplane status [--proxy NODE_ID] [--json] [--admin HOST:PORT]

Reads the proxy status of a running \`trustplane serve\` from its admin endpoint.
  --proxy NODE_ID   list that proxy's resources and secrets: name, type, serial, not-before, not-after, ACKed or not
  --json            print the status document as JSON
  --admin ADDR      the admin endpoint (default ${DEFAULT_ADMIN_ADDRESS})`,
  options: { proxy: { type: 'string' }, json: { type: 'boolean' }, ...adminOption },
  async run({ values, io }) {
    const path = values.proxy ? `/status/proxies/${encodeURIComponent(values.proxy)}` : '/status';
    let snapshot: ProxyStatusSnapshot;
    try {
      snapshot = await fetchAdmin<ProxyStatusSnapshot>(values.admin, path);
    } catch (err) {
      if (values.proxy && (err as TrustplaneError).code === 'ADMIN_NOT_FOUND') {
        io.stderr.write(`trustplane status: no connected proxy has node id "${values.proxy}"\n`);
        return 1;
      }
      throw err;
    }
    if (values.json) io.stdout.write(`${JSON.stringify(snapshot, null, 2)}\n`);
    else io.stdout.write(values.proxy ? renderProxySecrets(snapshot, values.proxy, Date.now()) : renderIdentitySourceLine((snapshot as { identitySource?: IdentitySourceStatus }).identitySource) + renderProxyStatusTable(snapshot, Date.now()));
    return 0;
  },
});
