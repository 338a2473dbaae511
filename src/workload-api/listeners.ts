// Where the Workload API listens. The spec leaves caller attestation to the endpoint (SPIFFE Workload Endpoint
// §5: out of band, without the workload's participation). Node's net module does not expose SO_PEERCRED and
// grpc-js does not say which connection a call came on, so trustplane attests by socket, as its xDS transport
// does: a socket whose file permissions admit exactly one uid stands for that uid. The configured path serves the
// uid trustplane runs as; as root, every uid the mesh's `nodes:` names also gets <dir>/uid-N/<socket name>,
// owned by N and mode 0600 — a directory per uid, so it can be mounted into a container as it is.
import * as grpc from '@grpc/grpc-js';
import { basename, dirname, join, resolve } from 'node:path';
import type { Clock } from '../clock.js';
import type { Logger } from '../observe/log.js';
import { fixedAuthenticator } from '../xds/transport/fixed-authenticator.js';
import { DEFAULT_DRAIN_MS, shutdownGracefully } from '../xds/transport/graceful-shutdown.js';
import { bindUnixSocket } from '../xds/transport/unix-socket.js';
import type { WorkloadApiServer } from './server.js';

/** Requests are small (the largest is a JWT to validate); anything bigger is refused before it is decoded. */
const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': 64 * 1024,
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.http2.min_ping_interval_without_data_ms': 10_000,
};

export interface WorkloadApiListenerOptions {
  /** The socket of the uid trustplane runs as (absolute path). */
  readonly path: string;
  /** Further uids that get a socket of their own (needs root to give each socket its owner). */
  readonly uids?: readonly number[];
  /** The socket's directory is trustplane's own (its data directory): its mode is set even if it exists. */
  readonly ownDirectory?: boolean;
  readonly server: WorkloadApiServer;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly drainMs?: number;
}

export interface WorkloadApiSocket {
  readonly path: string;
  readonly uid: number;
}

export interface WorkloadApiListeners {
  readonly sockets: readonly WorkloadApiSocket[];
  close(): Promise<void>;
}

/** The socket path of a uid that is not trustplane's own. */
export function uidSocketPath(mainPath: string, uid: number): string {
  return join(dirname(mainPath), `uid-${uid}`, basename(mainPath));
}

export async function startWorkloadApiListeners(opts: WorkloadApiListenerOptions): Promise<WorkloadApiListeners> {
  const own = process.getuid?.() ?? 0;
  const others = [...new Set(opts.uids ?? [])].filter((u) => u !== own).sort((a, b) => a - b);
  const dirMode = others.length ? 0o711 : 0o700;
  const specs = [
    { path: resolve(opts.path), uid: own, mode: 0o600, dirMode, ...(opts.ownDirectory ? { ownDirectory: true } : {}) },
    ...others.map((uid) => ({ path: uidSocketPath(resolve(opts.path), uid), uid, mode: 0o600, dirMode: 0o711, ownDirectory: true, owner: uid })),
  ];
  const servers: grpc.Server[] = [];
  const removers: Array<() => Promise<void>> = [];
  const sockets: WorkloadApiSocket[] = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const drained = Promise.all(servers.map((s) => shutdownGracefully(s, opts.clock, opts.drainMs ?? DEFAULT_DRAIN_MS)));
      opts.server.close();
      await drained;
      for (const rm of removers) await rm();
    })());
  try {
    for (const spec of specs) {
      const server = new grpc.Server(SERVER_OPTIONS);
      servers.push(server);
      opts.server.addTo(server, fixedAuthenticator({ kind: 'uid', uid: spec.uid }));
      removers.push(await bindUnixSocket(server, { path: spec.path, mode: spec.mode, dirMode: spec.dirMode, ...(spec.ownDirectory ? { ownDirectory: true } : {}), ...('owner' in spec ? { uid: spec.owner, gid: spec.owner } : {}) }));
      sockets.push({ path: spec.path, uid: spec.uid });
      opts.logger.info({ path: spec.path, principal: `uid:${spec.uid}` }, 'SPIFFE Workload API listening on Unix socket');
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { sockets, close };
}
