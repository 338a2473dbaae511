// The xDS transport: which listeners exist, how each authenticates its callers, and how they stop. The protocol
// server is handed in as `register` (XdsServer.addTo) so the transport never depends on protocol details.
import * as grpc from '@grpc/grpc-js';
import type { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { IdentityStore } from '../../store/identity-store.js';
import type { CallAuthenticator, NodePrincipal } from '../principal.js';
import { principalToString } from '../principal.js';
import { addNodeAttestation } from '../node-attest/attestation-service.js';
import type { JoinTokens } from '../node-attest/join-token-store.js';
import type { NodeSvidIssuer } from '../node-attest/node-svid-issuer.js';
import { fixedAuthenticator, insecureAuthenticator } from './fixed-authenticator.js';
import { bindAsync, XDS_SERVER_OPTIONS } from './grpc-bind.js';
import { DEFAULT_DRAIN_MS, shutdownGracefully } from './graceful-shutdown.js';
import { NodeSvidAuthenticator } from './node-svid-authenticator.js';
import { credentialsFromStore } from './server-svid-watch.js';
import { bindUnixSocket, type BoundUnixSocket, type UnixSocketSpec } from './unix-socket.js';

export interface UnixListenerConfig extends UnixSocketSpec {
  /** Who every caller of this socket is; its permissions must admit only that workload. */
  readonly principal: NodePrincipal;
}

export interface TcpListenerConfig {
  /** host:port, e.g. 127.0.0.1:8443 (port 0 picks one). */
  readonly address: string;
  /** The SPIFFE ID of the server's own SVID in the store, presented to callers. */
  readonly serverSpiffeId: string;
  /** Intermediates between node SVIDs and the bundle, when the CA is itself an intermediate (upstream mode). */
  readonly intermediates?: () => readonly X509Certificate[];
  /** Serve node attestation (join tokens, renewal) on this listener. */
  readonly nodeAttestation?: { readonly tokens: JoinTokens; readonly issuer: NodeSvidIssuer; readonly nodeSvidTtlMs?: number };
}

export interface TransportOptions {
  readonly store: IdentityStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** Registers the xDS services on a server: `(server, auth) => xds.addTo(server, auth)`. */
  readonly register: (server: grpc.Server, authenticator: CallAuthenticator) => void;
  readonly unix?: readonly UnixListenerConfig[];
  readonly tcp?: TcpListenerConfig;
  /** Development only: no TLS on TCP, and every caller is `insecure` (authorization off). */
  readonly insecure?: boolean;
  readonly drainMs?: number;
  /** gRPC's max receive message length on every listener (XdsLimits.requestBytes); default XDS_SERVER_OPTIONS'. */
  readonly maxReceiveMessageBytes?: number;
  /**
   * Called once every listener has stopped accepting and sent GOAWAY: end the open streams here
   * (`() => xds.close()`) so proxies reconnect elsewhere at once; whatever is still open after drainMs is cancelled.
   */
  readonly endStreams?: () => void | Promise<void>;
}

export interface Transport {
  readonly unixSockets: readonly string[];
  /** host:port actually bound, when TCP is on. */
  readonly tcpAddress?: string;
  /** Undefined while every listener is in place; otherwise what is wrong (a socket file removed or replaced). */
  problem(): string | undefined;
  /** Graceful shutdown of every listener (GOAWAY, bounded drain, then force). */
  close(): Promise<void>;
}

export async function startTransport(opts: TransportOptions): Promise<Transport> {
  const stops: Array<() => Promise<void> | void> = [];
  const servers: grpc.Server[] = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= shutdown());
  const shutdown = async (): Promise<void> => {
    const drained = Promise.all(servers.map((s) => shutdownGracefully(s, opts.clock, opts.drainMs ?? DEFAULT_DRAIN_MS)));
    await opts.endStreams?.();
    await drained;
    for (const stop of stops) await stop();
  };
  const serverOptions: grpc.ServerOptions = {
    ...XDS_SERVER_OPTIONS,
    ...(opts.maxReceiveMessageBytes ? { 'grpc.max_receive_message_length': opts.maxReceiveMessageBytes } : {}),
  };
  try {
    const unixSockets: string[] = [];
    const bound: BoundUnixSocket[] = [];
    for (const u of opts.unix ?? []) {
      const server = new grpc.Server(serverOptions);
      servers.push(server);
      opts.register(server, opts.insecure ? insecureAuthenticator : fixedAuthenticator(u.principal));
      const socket = await bindUnixSocket(server, u);
      bound.push(socket);
      stops.push(() => socket.remove());
      unixSockets.push(u.path);
      opts.log.info({ path: u.path, principal: opts.insecure ? 'insecure' : principalToString(u.principal) }, 'xDS listening on Unix socket');
    }
    let tcpAddress: string | undefined;
    if (opts.tcp) {
      const server = new grpc.Server(serverOptions);
      servers.push(server);
      let credentials: grpc.ServerCredentials;
      let authenticator: CallAuthenticator;
      if (opts.insecure) {
        credentials = grpc.ServerCredentials.createInsecure();
        authenticator = insecureAuthenticator;
      } else {
        const watched = credentialsFromStore(opts.store, opts.tcp.serverSpiffeId);
        stops.push(watched.stop);
        credentials = watched.credentials;
        const nodeAuth = new NodeSvidAuthenticator(opts.store.trustDomain, opts.store, opts.clock, opts.log, opts.tcp.intermediates);
        authenticator = nodeAuth;
        if (opts.tcp.nodeAttestation) {
          addNodeAttestation(server, { trustDomain: opts.store.trustDomain, authenticator: nodeAuth, log: opts.log, ...opts.tcp.nodeAttestation });
        }
      }
      opts.register(server, authenticator);
      const port = await bindAsync(server, opts.tcp.address, credentials, 'xDS TCP');
      tcpAddress = opts.tcp.address.replace(/:\d+$/, `:${port}`);
      opts.log.info({ address: tcpAddress, tls: !opts.insecure }, 'xDS listening on TCP');
    }
    if (opts.insecure) opts.log.warn('insecure mode: every xDS caller may fetch every identity, private keys included');
    const problem = (): string | undefined => bound.map((b) => b.problem()).find((p) => p !== undefined);
    return { unixSockets, ...(tcpAddress ? { tcpAddress } : {}), problem, close };
  } catch (e) {
    await close();
    throw e;
  }
}
