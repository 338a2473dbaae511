import { adminTokenFile } from '../../control-plane/admin-access.js';
import { DEFAULT_ADMIN_ADDRESS } from '../../control-plane/config.js';
import { TrustplaneError } from '../../errors.js';
import { errnoOf } from '../../io/fs-errors.js';
import { readTextFile } from '../../io/files.js';
import type { ProxyStatusSnapshot } from '../../xds/status/proxy-status.js';
import { renderProxySecrets, renderProxyStatusTable } from '../../xds/status/status-render.js';
import { defineCommand } from '../command.js';
import { dataDir, dataDirOption } from './common.js';
import type { IdentitySourceStatus } from '../../sources/identity-source.js';
import { renderIdentitySourceLine } from '../../sources/status-render.js';

export const adminOptions = { admin: { type: 'string' }, ...dataDirOption } as const;
/** The same options under the name commands written before the operator token used. */
export const adminOption = adminOptions;
export const ADMIN_HELP = `  --admin ADDR      the admin endpoint of \`trustplane serve\` (default ${DEFAULT_ADMIN_ADDRESS})
  --data-dir DIR    its data directory (default ./.trustplane), where the operator token is (admin-token, 0600)`;

/** The operator token `serve` wrote into its data directory. */
export function readAdminToken(dir: string): string {
  const file = adminTokenFile(dir);
  try {
    return readTextFile(file, 'the operator token').trim();
  } catch (err) {
    const code = (err as TrustplaneError).code;
    if (code === 'FILE_NOT_FOUND') throw new TrustplaneError('ADMIN_TOKEN_MISSING', `no operator token at ${file}: is \`trustplane serve\` running on this data directory? (give --data-dir the one it uses)`);
    if (code === 'PERMISSION_DENIED' || errnoOf(err) === 'EACCES') throw new TrustplaneError('ADMIN_TOKEN_UNREADABLE', `${file} is readable only by the user trustplane runs as: proxy identities are the operator's; run this as that user`);
    throw err;
  }
}

/** GETs a JSON document from a running control plane's admin endpoint, as the operator. */
export async function fetchAdmin<T>(where: { admin?: string | undefined; dataDir?: string | undefined } | string | undefined, path: string): Promise<T> {
  const opts = typeof where === 'object' ? where : { admin: where };
  const url = `http://${opts.admin ?? DEFAULT_ADMIN_ADDRESS}${path}`;
  const token = readAdminToken(dataDir(opts.dataDir));
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  } catch (err) {
    throw new TrustplaneError('ADMIN_UNREACHABLE', `cannot reach the control plane at ${url} (${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}); is \`trustplane serve\` running, and is --admin right?`);
  }
  if (res.status === 404) throw new TrustplaneError('ADMIN_NOT_FOUND', `${url}: ${(await res.text()).trim().split('\n')[0]}`);
  if (res.status === 401 || res.status === 403) {
    throw new TrustplaneError('ADMIN_FORBIDDEN', `${url}: the server at this address did not accept the operator token from ${adminTokenFile(dataDir(opts.dataDir))}; is --data-dir the one this server uses?`);
  }
  if (!res.ok) throw new TrustplaneError('ADMIN_ERROR', `${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export const status = defineCommand({
  path: ['status'],
  summary: 'per connected proxy and type: SYNCED / STALE / NACKED / NOT SENT (like istioctl proxy-status)',
  usage: `Usage: trustplane status [--proxy NODE_ID] [--json] [--admin HOST:PORT] [--data-dir DIR]

Reads the proxy status of a running \`trustplane serve\` from its admin endpoint, as the operator (with the token in
its data directory; run it as the user trustplane runs as).
  --proxy NODE_ID   list that proxy's resources and secrets: name, type, serial, not-before, not-after, ACKed or not
  --json            print the status document as JSON
${ADMIN_HELP}`,
  options: { proxy: { type: 'string' }, json: { type: 'boolean' }, ...adminOptions },
  async run({ values, io }) {
    const path = values.proxy ? `/status/proxies/${encodeURIComponent(values.proxy)}` : '/status';
    let snapshot: ProxyStatusSnapshot;
    try {
      snapshot = await fetchAdmin<ProxyStatusSnapshot>({ admin: values.admin, dataDir: values['data-dir'] }, path);
    } catch (err) {
      if (values.proxy && (err as TrustplaneError).code === 'ADMIN_NOT_FOUND') {
        throw new TrustplaneError('PROXY_NOT_FOUND', `no connected proxy has node id "${values.proxy}"`);
      }
      throw err;
    }
    if (values.json) io.stdout.write(`${JSON.stringify(snapshot, null, 2)}\n`);
    else io.stdout.write(values.proxy ? renderProxySecrets(snapshot, values.proxy, Date.now()) : renderIdentitySourceLine((snapshot as { identitySource?: IdentitySourceStatus }).identitySource) + renderProxyStatusTable(snapshot, Date.now()));
    return 0;
  },
});

export const adminLink = defineCommand({
  path: ['admin', 'link'],
  summary: 'print a one-time login link that opens the admin pages in a browser as the operator',
  usage: `Usage: trustplane admin link [--admin HOST:PORT] [--data-dir DIR]

Asks the running \`trustplane serve\` (with the operator token from its data directory) for a login link. Opening it
once, within 10 minutes, gives that browser an operator session (an HttpOnly, SameSite=Strict cookie, 12 hours).
${ADMIN_HELP}`,
  options: { ...adminOptions },
  async run({ values, io }) {
    const { path } = await fetchAdmin<{ path: string }>({ admin: values.admin, dataDir: values['data-dir'] }, '/login/link');
    io.stdout.write(`http://${values.admin ?? DEFAULT_ADMIN_ADDRESS}${path}\n`);
    return 0;
  },
});
