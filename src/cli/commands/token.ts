import { createJoinToken, DEFAULT_JOIN_TOKEN_TTL } from '../../xds/node-attest/token-command.js';
import { defineCommand, UsageError } from '../command.js';
import { dataDir, dataDirOption } from './common.js';

export const tokenCreate = defineCommand({
  path: ['token', 'create'],
  summary: 'create a single-use join token with which a node gets its node SVID',
  usage: `Usage: trustplane token create --node NAME [--ttl 10m] [--data-dir DIR]

Prints a token. A node presents it once, with a public key it generated, to the TCP listener's node attestation
and gets back the node SVID spiffe://<trust-domain>/trustplane/node/NAME, which then authenticates its xDS
streams as node:NAME. Only a hash of the token is stored (mode 0600); it expires after --ttl and works once.
  --node NAME      the node principal the token admits (as written in the mesh description's nodes: node:NAME)
  --ttl DURATION   how long the token is valid (default ${DEFAULT_JOIN_TOKEN_TTL})
  --json           print {"token","node","expiresAt"}`,
  options: { node: { type: 'string' }, ttl: { type: 'string' }, json: { type: 'boolean' }, ...dataDirOption },
  async run({ values, io }) {
    if (!values.node) throw new UsageError('--node is required');
    const t = await createJoinToken({ dataDir: dataDir(values['data-dir']), node: values.node, ...(values.ttl ? { ttl: values.ttl } : {}) });
    const expiresAt = t.expiresAt.toISOString();
    io.stdout.write(values.json ? `${JSON.stringify({ token: t.token, node: t.node, expiresAt })}\n` : `${t.token}\n`);
    if (!values.json) io.stderr.write(`join token for node:${t.node}, single use, expires ${expiresAt}\n`);
    return 0;
  },
});
