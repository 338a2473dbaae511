// The node side of node attestation: what a VM or edge host runs once with its join token, and then to renew.
// The node's key is generated here and never leaves the host; only its public key is sent.
import { generateKeyPairSync } from 'node:crypto';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../ca/atomic-file.js';
import { TrustplaneError } from '../../errors.js';
import { fileError } from '../../io/fs-errors.js';
import { makePrivateDir, readTextFile } from '../../io/files.js';
import { TrustDomain } from '../../spiffe/trust-domain.js';
import { hashJoinToken } from '../../xds/node-attest/join-token.js';
import { NodeAttestationClient, spiffeChannelCredentials } from '../../xds/node-attest/client.js';
import { ERROR_CODE_METADATA, type NodeSvidResponse } from '../../xds/node-attest/messages.js';
import { defineCommand, UsageError } from '../command.js';
import { routeGrpcLogs } from '../grpc-log.js';

const common = { server: { type: 'string' }, 'trust-domain': { type: 'string' }, dir: { type: 'string' } } as const;

function trustDomainOf(td: string | undefined): TrustDomain {
  if (!td) throw new UsageError('--trust-domain is required (the server presents spiffe://<trust-domain>/trustplane/server)');
  return TrustDomain.parse(td);
}

/**
 * The credentials that check the server by its SPIFFE ID. TLS server names must be host names, and --server is
 * usually an IP address (Node warns, DEP0123): the trust domain, a DNS-like name, goes in the SNI instead; the
 * server's certificate is checked by its SPIFFE ID whatever the SNI says.
 */
function credentials(td: TrustDomain, files: { bundlePem: string; certChainPem?: string; privateKeyPem?: string }) {
  return {
    credentials: spiffeChannelCredentials({ ...files, serverSpiffeId: `${td.idString()}/trustplane/server` }),
    options: { 'grpc.ssl_target_name_override': td.name },
  };
}

function required(v: string | undefined, flag: string): string {
  if (!v) throw new UsageError(`${flag} is required`);
  return v;
}

/** Writes the node SVID like spiffe-helper: svid.pem (chain), svid_key.pem (0600), bundle.pem. */
function writeNodeFiles(dir: string, res: NodeSvidResponse, privateKeyPem: string): void {
  for (const [file, data, mode] of [['svid_key.pem', privateKeyPem, 0o600], ['svid.pem', res.certChainPem, 0o644], ['bundle.pem', res.bundlePem, 0o644]] as const) {
    try {
      writeFileAtomic(join(dir, file), data, mode);
    } catch (err) {
      throw fileError(err, 'cannot write', join(dir, file));
    }
  }
}

async function call(what: string, server: string, f: () => Promise<NodeSvidResponse>): Promise<NodeSvidResponse> {
  try {
    return await f();
  } catch (err) {
    const e = err as { details?: string; message: string; metadata?: { get(k: string): unknown[] } };
    const code = e.metadata?.get(ERROR_CODE_METADATA)?.[0];
    // The server puts the code in front of its details too (for clients that read no metadata): say it once.
    const details = typeof code === 'string' && e.details?.startsWith(`${code}: `) ? e.details.slice(code.length + 2) : (e.details ?? e.message);
    throw new TrustplaneError(typeof code === 'string' ? code : 'NODE_ATTESTATION_FAILED', `${what} at ${server} failed: ${details}`);
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
    const token = required(values.token, '--token');
    const td = trustDomainOf(values['trust-domain']);
    hashJoinToken(token); // a malformed token is refused here, before anything is sent
    const bundlePem = readTextFile(required(values.bundle, '--bundle'), 'the bundle');
    makePrivateDir(dir, 'the node SVID directory');
    routeGrpcLogs(io.logger());
    const key = newKey();
    const c = credentials(td, { bundlePem });
    const client = new NodeAttestationClient(server, c.credentials, c.options);
    try {
      const res = await call('node attestation', server, () => client.attest({ token, publicKeyPem: key.publicKeyPem }));
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
    const td = trustDomainOf(values['trust-domain']);
    const read = (f: string, what: string): string => {
      try {
        return readTextFile(join(dir, f), what);
      } catch (err) {
        if ((err as TrustplaneError).code === 'FILE_NOT_FOUND') {
          throw new TrustplaneError('NODE_SVID_MISSING', `${dir} holds no node SVID (${f} is missing); run \`trustplane node join\` with a join token first, or point --dir at the directory it wrote`);
        }
        throw err;
      }
    };
    const files = { certChainPem: read('svid.pem', 'the node SVID'), privateKeyPem: read('svid_key.pem', 'the node key'), bundlePem: read('bundle.pem', 'the bundle') };
    routeGrpcLogs(io.logger());
    const key = newKey();
    const c = credentials(td, files);
    const client = new NodeAttestationClient(server, c.credentials, c.options);
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
