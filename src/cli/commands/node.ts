// The node side of node attestation: what a VM or edge host runs once with its join token, and then to renew.
// The node's key is generated here and never leaves the host; only its public key is sent.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../ca/atomic-file.js';
import { TrustplaneError } from '../../errors.js';
import { TrustDomain } from '../../spiffe/trust-domain.js';
import { NodeAttestationClient, spiffeChannelCredentials } from '../../xds/node-attest/client.js';
import { ERROR_CODE_METADATA, type NodeSvidResponse } from '../../xds/node-attest/messages.js';
import { defineCommand, UsageError } from '../command.js';

const common = { server: { type: 'string' }, 'trust-domain': { type: 'string' }, dir: { type: 'string' } } as const;

function serverId(td: string | undefined): string {
  if (!td) throw new UsageError('--trust-domain is required (the server presents spiffe://<trust-domain>/trustplane/server)');
  return `${TrustDomain.parse(td).idString()}/trustplane/server`;
}

function required(v: string | undefined, flag: string): string {
  if (!v) throw new UsageError(`${flag} is required`);
  return v;
}

/** Writes the node SVID like spiffe-helper: svid.pem (chain), svid_key.pem (0600), bundle.pem. */
function writeNodeFiles(dir: string, res: NodeSvidResponse, privateKeyPem: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(join(dir, 'svid_key.pem'), privateKeyPem, 0o600);
  writeFileAtomic(join(dir, 'svid.pem'), res.certChainPem, 0o644);
  writeFileAtomic(join(dir, 'bundle.pem'), res.bundlePem, 0o644);
}

async function call(what: string, server: string, f: () => Promise<NodeSvidResponse>): Promise<NodeSvidResponse> {
  try {
    return await f();
  } catch (err) {
    const e = err as { details?: string; message: string; metadata?: { get(k: string): unknown[] } };
    const code = e.metadata?.get(ERROR_CODE_METADATA)?.[0];
    throw new TrustplaneError(typeof code === 'string' ? code : 'NODE_ATTESTATION_FAILED', `${what} at ${server} failed: ${e.details ?? e.message}`);
  }
}

function newKey(): { publicKeyPem: string; privateKeyPem: string } {
  const k = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return { publicKeyPem: k.publicKey, privateKeyPem: k.privateKey };
}

export const nodeJoin = defineCommand({
  path: ['node', 'join'],
  summary: 'exchange a join token for this node SVID (the key is made here and never sent)',
  usage: `Usage: trustplane node join --server HOST:PORT --trust-domain TD --bundle FILE --token TOKEN --dir DIR

Writes DIR/svid.pem, DIR/svid_key.pem (0600) and DIR/bundle.pem: what \`trustplane bootstrap --xds tcp:HOST:PORT
--tls-dir DIR\` points Envoy at. The server is checked against FILE (its bundle, from \`trustplane bundle show\`,
copied to this host out of band) and must present spiffe://TD/trustplane/server.
  --server HOST:PORT   trustplane's TLS listener
  --trust-domain TD    its trust domain
  --bundle FILE        the trust bundle to check the server with (PEM)
  --token TOKEN        from \`trustplane token create --node NAME\`; works once
  --dir DIR            where to write the files`,
  options: { ...common, bundle: { type: 'string' }, token: { type: 'string' } },
  async run({ values, io }) {
    const server = required(values.server, '--server');
    const dir = resolve(required(values.dir, '--dir'));
    const bundlePem = readFileSync(required(values.bundle, '--bundle'), 'utf8');
    const key = newKey();
    const client = new NodeAttestationClient(server, spiffeChannelCredentials({ bundlePem, serverSpiffeId: serverId(values['trust-domain']) }));
    try {
      const res = await call('node attestation', server, () => client.attest({ token: required(values.token, '--token'), publicKeyPem: key.publicKeyPem }));
      writeNodeFiles(dir, res, key.privateKeyPem);
      io.stdout.write(`joined as ${res.spiffeId}, valid until ${res.notAfter}; wrote ${dir}/svid.pem, svid_key.pem (0600), bundle.pem\n`);
      return 0;
    } finally {
      client.close();
    }
  },
});

export const nodeRenew = defineCommand({
  path: ['node', 'renew'],
  summary: 'renew this node SVID with the current one (a new key each time)',
  usage: `Usage: trustplane node renew --server HOST:PORT --trust-domain TD --dir DIR

Authenticates with DIR/svid.pem and DIR/svid_key.pem, gets a node SVID for a fresh key, and replaces the three
files atomically. Run it well before the node SVID expires (e.g. from a timer at half its lifetime).`,
  options: { ...common },
  async run({ values, io }) {
    const server = required(values.server, '--server');
    const dir = resolve(required(values.dir, '--dir'));
    const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
    const key = newKey();
    const client = new NodeAttestationClient(
      server,
      spiffeChannelCredentials({ bundlePem: read('bundle.pem'), serverSpiffeId: serverId(values['trust-domain']), certChainPem: read('svid.pem'), privateKeyPem: read('svid_key.pem') }),
    );
    try {
      const res = await call('node SVID renewal', server, () => client.renew({ publicKeyPem: key.publicKeyPem }));
      writeNodeFiles(dir, res, key.privateKeyPem);
      io.stdout.write(`renewed ${res.spiffeId}, valid until ${res.notAfter}\n`);
      return 0;
    } finally {
      client.close();
    }
  },
});
