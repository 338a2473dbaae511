import { DEFAULT_ADMIN_ADDRESS } from '../../control-plane/config.js';
import { renderFederation, type FederationDocument } from '../../federation/status.js';
import { defineCommand } from '../command.js';
import { adminOption, fetchAdmin } from './status.js';

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
    const doc = await fetchAdmin<FederationDocument>(values.admin, '/federation');
    io.stdout.write(values.json ? `${JSON.stringify(doc, null, 2)}\n` : renderFederation(doc, Date.now()));
    return 0;
  },
});
