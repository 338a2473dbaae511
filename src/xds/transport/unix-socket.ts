// A Unix socket admits exactly who its file permissions admit, so a socket can stand for one principal. The socket
// is bound inside a private (0700) staging directory, given its mode and owner there, and only then renamed into
// place: there is no moment at which the final path exists with looser permissions than configured.
import * as grpc from '@grpc/grpc-js';
import { lstatSync, rmSync } from 'node:fs';
import { chmod, chown, lstat, mkdtemp, rename, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { TrustplaneError } from '../../errors.js';
import { makeDirs } from '../../io/files.js';
import { bindAsync } from './grpc-bind.js';

export class UnixSocketError extends TrustplaneError {}

export interface UnixSocketSpec {
  /** Absolute path of the socket file. */
  readonly path: string;
  /** File mode of the socket: 0o600 (owner only, the default) or 0o660 with gid for a group. */
  readonly mode?: number;
  /** Owner and group to give the socket (changing the owner needs privileges). */
  readonly uid?: number;
  readonly gid?: number;
  /** Mode of the directory holding the socket; 0o700 unless the socket is meant for other users (then 0o711/0o750). */
  readonly dirMode?: number;
  /** The directory is trustplane's own (its data directory): set its mode even when it already exists. */
  readonly ownDirectory?: boolean;
}

const MAX_SOCKET_PATH = 107;

/**
 * A directory trustplane did not create holds the socket: others who may write to it could swap the socket file
 * for their own (a sticky directory like /tmp stops that), so refuse such a directory.
 */
async function checkSharedDirectory(dir: string): Promise<void> {
  const st = await lstat(dir);
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
    throw new UnixSocketError('UNIX_SOCKET_DIR_UNSAFE', `${dir} is writable by other users and not sticky (mode ${(st.mode & 0o7777).toString(8)}); put the socket in a directory only trustplane may write to`);
  }
}

/**
 * A socket file this process bound: it is removed on close only while it is still that file. Calling it is
 * remove() (so it can go where a remover function is expected).
 */
export interface BoundUnixSocket {
  (): Promise<void>;
  readonly path: string;
  /** Undefined while the file at path is the socket bound here; otherwise what happened to it. */
  problem(): string | undefined;
  /** Removes the socket file if it is still the one bound here (never another server's). */
  remove(): Promise<void>;
}

/** Binds server to spec.path with the configured permissions. */
export async function bindUnixSocket(server: grpc.Server, spec: UnixSocketSpec): Promise<BoundUnixSocket> {
  if (Buffer.byteLength(spec.path) > MAX_SOCKET_PATH) {
    throw new UnixSocketError('UNIX_SOCKET_PATH_TOO_LONG', `Unix socket path ${spec.path} is longer than ${MAX_SOCKET_PATH} bytes; choose a shorter data directory`);
  }
  const dir = dirname(spec.path);
  // Only a directory trustplane creates (or its own data directory, which it names) gets its mode set: chmod-ing
  // whatever holds a socket given by path would lock down /run or /tmp for the whole host.
  const created = makeDirs(dir, spec.dirMode ?? 0o700, 'the directory of the Unix socket').length > 0;
  if (created || spec.ownDirectory) await chmod(dir, spec.dirMode ?? 0o700);
  else await checkSharedDirectory(dir);
  await removeStaleSocket(spec.path);
  const staging = await mkdtemp(join(dir, '.bind-'));
  let identity: { dev: number; ino: number };
  try {
    const temp = join(staging, 's');
    await bindAsync(server, `unix:${temp}`, grpc.ServerCredentials.createInsecure(), 'Unix socket');
    await chmod(temp, spec.mode ?? 0o600);
    if (spec.uid !== undefined || spec.gid !== undefined) await chown(temp, spec.uid ?? -1, spec.gid ?? -1);
    const st = await lstat(temp);
    identity = { dev: st.dev, ino: st.ino };
    await rename(temp, spec.path);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  // The file at the path is ours while it has the inode we bound: another server that took the path over (or a
  // user who deleted it) must not have its socket removed by us, and readiness must know ours is gone.
  const problem = (): string | undefined => {
    try {
      const st = lstatSync(spec.path);
      return st.dev === identity.dev && st.ino === identity.ino ? undefined : `the xDS socket ${spec.path} was replaced by another file`;
    } catch {
      return `the xDS socket ${spec.path} is gone`;
    }
  };
  const remove = async (): Promise<void> => {
    if (problem() === undefined) rmSync(spec.path, { force: true });
  };
  return Object.assign(() => remove(), { path: spec.path, problem, remove });
}

/** Whether a server accepts connections on the socket at path. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A socket left by a process that is gone is replaced; one a live server listens on is never touched. */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!isSocket) {
    throw new UnixSocketError('UNIX_SOCKET_PATH_TAKEN', `${path} exists and is not a socket; refusing to replace it (${basename(path)})`);
  }
  if (await answers(path)) {
    throw new UnixSocketError('UNIX_SOCKET_IN_USE', `${path} is the socket of another running server; stop it, or choose another path (--uds, --data-dir)`);
  }
  await rm(path, { force: true });
}
