import { createJoinToken, DEFAULT_JOIN_TOKEN_TTL } from '../../xds/node-attest/token-command.js';
import { openDatastore } from '../../datastore/index.js';
import { DatastoreJoinTokens } from '../../replica/datastore-join-tokens.js';
import { systemClock } from '../../clock.js';
import { parseTtl } from '../../xds/node-attest/join-token.js';
import { defineCommand, UsageError } from '../command.js';
import { dataDir, dataDirOption } from './common.js';

export const tokenCreate = defineCommand({
  path: ['token', 'create'],
  summary: 'create a single-use join token with which a node gets its node SVID',
  usage: `Usage: trustplane token create --node NAME [--ttl 10m] [--data-dir DIR | --datastore URL]

Prints a token. A node presents it once, with a public key it generated, to the TCP listener's node attestation
and gets back the node SVID spiffe://<trust-domain>/trustplane/node/NAME, which then authenticates its xDS
streams as node:NAME. Only a hash of the token is stored (mode 0600); it expires after --ttl and works once.
  --node NAME      the node principal the token admits (as written in the mesh description's nodes: node:NAME)
  --ttl DURATION   how long the token is valid (default ${DEFAULT_JOIN_TOKEN_TTL})
  --datastore URL  replicas: keep the token in their shared PostgreSQL (postgres://USER:PASSWORD@HOST:PORT/DB), so
                   that any replica accepts it, and only once
  --json           print {"token","node","expiresAt"}`,
  options: { node: { type: 'string' }, ttl: { type: 'string' }, json: { type: 'boolean' }, datastore: { type: 'string' }, ...dataDirOption },
  async run({ values, io }) {
    if (!values.node) throw new UsageError('--node is required');
    if (values.datastore && values['data-dir']) throw new UsageError('--datastore and --data-dir: the token goes to one of them');
    const t = values.datastore ? await createInDatastore(values.datastore, values.node, values.ttl) : await createJoinToken({ dataDir: dataDir(values['data-dir']), node: values.node, ...(values.ttl ? { ttl: values.ttl } : {}) });
    const expiresAt = t.expiresAt.toISOString();
    io.stdout.write(values.json ? `${JSON.stringify({ token: t.token, node: t.node, expiresAt })}\n` : `${t.token}\n`);
    if (!values.json) io.stderr.write(`join token for node:${t.node}, single use, expires ${expiresAt}\n`);
    return 0;
  },
});

async function createInDatastore(url: string, node: string, ttl: string | undefined): Promise<{ token: string; node: string; expiresAt: Date }> {
  const ttlMs = parseTtl(ttl ?? DEFAULT_JOIN_TOKEN_TTL);
  const ds = await openDatastore({ url, dataDir: '' });
  try {
    return await new DatastoreJoinTokens(ds, systemClock).create(node, ttlMs);
  } finally {
    await ds.close();
  }
}
