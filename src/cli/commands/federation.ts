import { resolve } from 'node:path';
import { DEFAULT_ADMIN_ADDRESS } from '../../control-plane/config.js';
import type { BundleEndpointConfig } from '../../federation/config.js';
import { renderFederation, type FederationDocument } from '../../federation/status.js';
import { defineCommand, UsageError } from '../command.js';
import { parseDuration } from './common.js';
import { adminOption, fetchAdmin } from './status.js';

/** `serve`'s bundle endpoint flags. */
export const bundleEndpointOptions = {
  'bundle-endpoint': { type: 'string' },
  'bundle-endpoint-cert': { type: 'string' },
  'bundle-endpoint-key': { type: 'string' },
  'bundle-refresh-hint': { type: 'string' },
} as const;

export const BUNDLE_ENDPOINT_HELP = `  --bundle-endpoint HOST:PORT   serve this trust domain's SPIFFE bundle over HTTPS at https://HOST:PORT/;
                         profile https_spiffe (presents the server SVID) unless a certificate is given:
  --bundle-endpoint-cert FILE, --bundle-endpoint-key FILE   profile https_web: a Web PKI certificate and key
                         (PEM), re-read when they change
  --bundle-refresh-hint DURATION   spiffe_refresh_hint served (default 5m; whole seconds)`;

export function bundleEndpointOf(values: { 'bundle-endpoint'?: string; 'bundle-endpoint-cert'?: string; 'bundle-endpoint-key'?: string; 'bundle-refresh-hint'?: string }): BundleEndpointConfig | undefined {
  const cert = values['bundle-endpoint-cert'];
  const key = values['bundle-endpoint-key'];
  if (!values['bundle-endpoint']) {
    if (cert || key || values['bundle-refresh-hint']) throw new UsageError('--bundle-endpoint-cert, --bundle-endpoint-key and --bundle-refresh-hint go with --bundle-endpoint HOST:PORT');
    return undefined;
  }
  if (!!cert !== !!key) throw new UsageError('--bundle-endpoint-cert and --bundle-endpoint-key go together (profile https_web)');
  let refreshHintSeconds: number | undefined;
  if (values['bundle-refresh-hint']) {
    const ms = parseDuration(values['bundle-refresh-hint'], '--bundle-refresh-hint');
    if (ms < 1000 || ms % 1000 !== 0) throw new UsageError(`--bundle-refresh-hint "${values['bundle-refresh-hint']}" must be a whole number of seconds, at least 1s`);
    refreshHintSeconds = ms / 1000;
  }
  const base = { address: values['bundle-endpoint'], ...(refreshHintSeconds !== undefined ? { refreshHintSeconds } : {}) };
  return cert && key ? { ...base, profile: 'https_web', certFile: resolve(cert), keyFile: resolve(key) } : { ...base, profile: 'https_spiffe' };
}

export const federationStatus = defineCommand({
  path: ['federation', 'status'],
  summary: 'per federated trust domain: bundle source, sequence, authorities, last and next refresh, last error',
  usage: `Usage: trustplane federation status [--json] [--admin HOST:PORT]

Reads /federation from a running \`trustplane serve\`: the bundle endpoint it serves (address, profile, sequence)
and, per federated trust domain, where its bundle comes from (file or endpoint), the spiffe_sequence and the
authorities held, the last successful refresh, the next one, and the last error with its reason.
  --json            print the document as JSON
  --admin ADDR      the admin endpoint (default ${DEFAULT_ADMIN_ADDRESS})`,
  options: { json: { type: 'boolean' }, ...adminOption },
  async run({ values, io }) {
    const doc = await fetchAdmin<FederationDocument>({ admin: values.admin, dataDir: values['data-dir'] }, '/federation');
    io.stdout.write(values.json ? `${JSON.stringify(doc, null, 2)}\n` : renderFederation(doc, Date.now()));
    return 0;
  },
});
