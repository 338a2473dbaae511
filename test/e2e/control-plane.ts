// A running trustplane control plane built from the real parts only: the embedded CA in a data directory, the
// SvidManager keeping SVIDs in the identity store, the xDS protocol server, and the transport (per-workload Unix
// sockets, TCP with mTLS and join-token node attestation). Every component logs to one pino logger whose output
// the tests read back.
import * as grpc from '@grpc/grpc-js';
import { createPrivateKey } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { SvidManager } from '../../src/ca/svid-manager.js';
import { ManualClock } from '../../src/clock.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { IdentityStore } from '../../src/store/identity-store.js';
import { spiffeChannelCredentials, NodeAttestationClient } from '../../src/xds/node-attest/client.js';
import { JoinTokenStore } from '../../src/xds/node-attest/join-token-store.js';
import type { NodeSvidIssuer } from '../../src/xds/node-attest/node-svid-issuer.js';
import { joinTokenDir } from '../../src/xds/node-attest/token-command.js';
import { TableIdentityPolicy, type IdentityGrant } from '../../src/xds/policy.js';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { XdsServer } from '../../src/xds/server/server.js';
import { startTransport, type Transport, type UnixListenerConfig } from '../../src/xds/transport/transport.js';
import { captureLog } from '../xds/transport/harness.js';

export const TD = 'example.org';
export const SERVER_ID = `spiffe://${TD}/trustplane/server`;

/** The embedded CA as a NodeSvidIssuer: it signs the node's public key, so the node's private key never travels. */
export function caNodeSvidIssuer(ca: CertificateAuthority): NodeSvidIssuer & { issued: string[] } {
  const issued: string[] = [];
  return {
    issued,
    signX509Svid(spiffeId, publicKey, { ttlMs }) {
      const svid = ca.signX509Svid(SpiffeId.parse(spiffeId), publicKey.export({ type: 'spki', format: 'der' }), { ttlMs });
      issued.push(spiffeId);
      return svid;
    },
    bundle: () => ca.bundle(),
  };
}

export interface ControlPlaneOptions {
  /** Who may receive which identity. */
  readonly grants: readonly IdentityGrant[];
  /** Per-workload sockets, named relative to a sockets directory that every user may traverse. */
  readonly unix?: readonly (Omit<UnixListenerConfig, 'path'> & { readonly name: string })[];
  /** Where the manual clock starts; the host's time by default. */
  readonly start?: number;
  /** Pins the SvidManager's renewal jitter, so renewals fall due at exactly half the SVID lifetime. */
  readonly random?: () => number;
}

export interface ControlPlane {
  readonly clock: ManualClock;
  readonly ca: CertificateAuthority;
  readonly store: IdentityStore;
  readonly svids: SvidManager;
  readonly xds: XdsServer;
  readonly tokens: JoinTokenStore;
  readonly issuer: ReturnType<typeof caNodeSvidIssuer>;
  readonly transport: Transport;
  readonly dataDir: string;
  readonly log: Logger;
  /** Everything logged so far by the CA, the SvidManager, the xDS server and the transport. */
  logText(): string;
  socketPath(name: string): string;
  /** TLS credentials that accept exactly this server, optionally presenting a client SVID. */
  channelCredentials(client?: { certChainPem: string; privateKeyPem: string }): grpc.ChannelCredentials;
  attestation(client?: { certChainPem: string; privateKeyPem: string }): NodeAttestationClient;
  close(): Promise<void>;
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const clock = new ManualClock(opts.start ?? Date.now());
  const dataDir = await mkdtemp(join(tmpdir(), 'tp-e2e-'));
  // The data directory is traversable by everyone so that only the socket directory and socket modes decide.
  await chmod(dataDir, 0o755);
  const sockets = join(dataDir, 'sockets');
  const captured = captureLog();
  const log = captured.log;
  const ca = CertificateAuthority.open({ trustDomain: TrustDomain.parse(TD), dataDir, clock, logger: log });
  const store = new IdentityStore(TD);
  const svids = new SvidManager({ ca, store, clock, logger: log, ...(opts.random ? { random: opts.random } : {}) });
  const ids = new Set([SERVER_ID, ...opts.grants.map((g) => g.spiffeId)]);
  svids.setIdentities([...ids].map((id) => SpiffeId.parse(id)));
  const xds = new XdsServer({ store, resources: new ResourceCache(), policy: new TableIdentityPolicy(opts.grants), clock, logger: log });
  const tokens = new JoinTokenStore(joinTokenDir(dataDir), clock);
  const issuer = caNodeSvidIssuer(ca);
  const transport = await startTransport({
    store,
    clock,
    log,
    register: (server, auth) => xds.addTo(server, auth),
    endStreams: () => xds.close(),
    unix: (opts.unix ?? []).map(({ name, ...u }) => ({ ...u, path: join(sockets, name), dirMode: 0o711 })),
    tcp: { address: '127.0.0.1:0', serverSpiffeId: SERVER_ID, nodeAttestation: { tokens, issuer } },
  });
  const clients: { close(): void }[] = [];
  const channelCredentials = (client?: { certChainPem: string; privateKeyPem: string }) =>
    spiffeChannelCredentials({ bundlePem: ca.bundle().toPem(), serverSpiffeId: SERVER_ID, ...client });
  return {
    clock, ca, store, svids, xds, tokens, issuer, transport, dataDir, log,
    logText: captured.text,
    socketPath: (name) => join(sockets, name),
    channelCredentials,
    attestation(client) {
      const c = new NodeAttestationClient(transport.tcpAddress!, channelCredentials(client));
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      await transport.close();
      svids.close();
      ca.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The base64 runs of a PEM private key that encode only its secret scalar (not the PKCS#8 header every key of a type
 * shares, nor the public key a certificate also carries): finding one anywhere means that key leaked.
 */
export function keyFragments(pem: string): string[] {
  const pkcs8 = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  const sec1 = createPrivateKey(pem).export({ format: 'der', type: 'sec1' });
  const scalar = sec1.subarray(7, 7 + sec1[6]!); // ECPrivateKey: SEQUENCE, version, OCTET STRING privateKey
  const at = pkcs8.indexOf(scalar);
  if (scalar.length < 32 || at < 0) throw new Error('keyFragments: not an EC private key');
  const b64 = pkcs8.toString('base64').slice(Math.ceil(at / 3) * 4, Math.floor((at + scalar.length) / 3) * 4);
  const out: string[] = [];
  for (let i = 0; i + 16 <= b64.length; i += 4) out.push(b64.slice(i, i + 16));
  return out;
}

/** Text with line breaks (real or JSON-escaped) taken out, so a PEM body is one run. */
function flat(text: string): string {
  return text.replace(/\\n|\s+/g, '');
}

/** Fails if `text` holds any fragment of one of `keys`. */
export function assertNoneOfKeys(text: string, keys: readonly string[], where: string): void {
  const t = flat(text);
  keys.forEach((k, i) => {
    if (keyFragments(k).some((f) => t.includes(f))) throw new Error(`${where} contains a fragment of private key #${i}`);
  });
}

/** Fails if `text` contains a PEM private key marker or any fragment of one of `keys`. */
export function assertNoPrivateKey(text: string, keys: readonly string[], where: string): void {
  if (text.includes('PRIVATE KEY')) throw new Error(`${where} contains "PRIVATE KEY"`);
  assertNoneOfKeys(text, keys, where);
}

/** Whether `text` holds some fragment of `key` (the positive control of the checks above). */
export function containsKey(text: string, key: string): boolean {
  const t = flat(text);
  return keyFragments(key).some((f) => t.includes(f));
}
