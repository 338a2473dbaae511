// A running TCP+TLS transport over a fixture CA, with the stand-in xDS service and node attestation.
import * as grpc from '@grpc/grpc-js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/clock.js';
import { IdentityStore } from '../../../src/store/identity-store.js';
import { JoinTokenStore } from '../../../src/xds/node-attest/join-token-store.js';
import { joinTokenDir } from '../../../src/xds/node-attest/token-command.js';
import { NodeAttestationClient, spiffeChannelCredentials } from '../../../src/xds/node-attest/client.js';
import { startTransport, type Transport } from '../../../src/xds/transport/transport.js';
import { fixtureIssuer, makeCa, type FixtureCa } from './fixture-ca.js';
import { addWhoService, captureLog, WhoClient, type CapturedLog } from './harness.js';

export const TD = 'example.org';
export const SERVER_ID = `spiffe://${TD}/trustplane/server`;
export const NODE_SVID_TTL_MS = 600_000;

export interface TcpSetup {
  clock: ManualClock;
  ca: FixtureCa;
  store: IdentityStore;
  tokens: JoinTokenStore;
  issuer: ReturnType<typeof fixtureIssuer>;
  captured: CapturedLog;
  transport: Transport;
  address: string;
  /** Clients opened through the helpers below; closed by stop(). */
  clients: grpc.Client[];
  who(creds?: { certChainPem: string; privateKeyPem: string }): grpc.Client;
  attestation(creds?: { certChainPem: string; privateKeyPem: string }): NodeAttestationClient;
  stop(): Promise<void>;
}

export async function startTcp(): Promise<TcpSetup> {
  const clock = new ManualClock(Date.now());
  const ca = await makeCa(TD, clock.now());
  const store = new IdentityStore(TD);
  store.setBundle(ca.bundle);
  const { issueSvid } = await import('./fixture-ca.js');
  store.setSvid(await issueSvid(ca, SERVER_ID, clock.now(), 24 * 3_600_000));
  const tokens = new JoinTokenStore(joinTokenDir(await mkdtemp(join(tmpdir(), 'tp-tcp-'))), clock);
  const issuer = fixtureIssuer(ca, clock);
  const captured = captureLog();
  const transport = await startTransport({
    store,
    clock,
    log: captured.log,
    register: addWhoService,
    tcp: { address: '127.0.0.1:0', serverSpiffeId: SERVER_ID, nodeAttestation: { tokens, issuer, nodeSvidTtlMs: NODE_SVID_TTL_MS } },
  });
  const address = transport.tcpAddress!;
  const clients: grpc.Client[] = [];
  const attestations: NodeAttestationClient[] = [];
  const creds = (c?: { certChainPem: string; privateKeyPem: string }) =>
    spiffeChannelCredentials({ bundlePem: ca.bundle.toPem(), serverSpiffeId: SERVER_ID, ...c });
  return {
    clock, ca, store, tokens, issuer, captured, transport, address, clients,
    who(c) {
      const client = new WhoClient(address, creds(c), { 'grpc.use_local_subchannel_pool': 1 });
      clients.push(client);
      return client;
    },
    attestation(c) {
      const client = new NodeAttestationClient(address, creds(c));
      attestations.push(client);
      return client;
    },
    async stop() {
      for (const c of clients) c.close();
      for (const c of attestations) c.close();
      await transport.close();
    },
  };
}
