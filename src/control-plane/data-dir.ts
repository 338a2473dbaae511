// The data directory: its mode, and the lock that lets one process at a time run a CA schedule and listen on it.
//
// Mode: 0700. One exception, when trustplane runs as root and gives per-uid sockets to other users
// (<data-dir>/sockets/uid-N.sock): those users must traverse the directory to reach their socket, so it is 0711 —
// traversable, not listable. Nothing in it is readable by them: ca/ is 0700 with 0600 keys, admin-token and the
// join tokens are 0600, xds.sock is 0600, each uid-N.sock is 0600 and owned by its uid.
//
// Lock: <data-dir>/serve.lock holds the pid of the process that serves the directory, created with O_EXCL. A lock
// whose pid is no longer alive (kill -9, a crash) is taken over. Two servers on one directory would each rotate the
// same CA files and replace each other's sockets, so the second refuses to start.
import { chmodSync, linkSync, lstatSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrustplaneError } from '../errors.js';
import { errnoOf, fileError } from '../io/fs-errors.js';
import { makeDirs } from '../io/files.js';

export const LOCK_FILE = 'serve.lock';

export class DataDirError extends TrustplaneError {}

/** Creates the data directory if needed and gives it its mode (0700, or 0711 when others must reach sockets in it). */
export function prepareDataDir(dir: string, opts: { traversableByOthers: boolean }): void {
  makeDirs(dir, 0o700, 'the data directory');
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new DataDirError('DATA_DIR_NOT_A_DIRECTORY', `the data directory ${dir} is not a directory (a symbolic link?); give --data-dir a real directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new DataDirError('DATA_DIR_NOT_OWNED', `the data directory ${dir} belongs to uid ${st.uid}, not to uid ${uid} that trustplane runs as; run as its owner, or \`chown -R ${uid} ${dir}\``);
  }
  try {
    chmodSync(dir, opts.traversableByOthers ? 0o711 : 0o700);
  } catch (err) {
    throw fileError(err, 'cannot set the mode of the data directory', dir);
  }
}

export interface DataDirLock {
  readonly file: string;
  /** Removes the lock if it is still this process's. */
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) === 'EPERM'; // exists, owned by someone else
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw fileError(err, 'cannot read the lock', file);
  }
}

/** Lock files this process holds (several control planes may run in one process, as in tests). */
const held = new Set<string>();

/** Takes <dir>/serve.lock for this process, or says which live process holds it. `what` names the taker. */
export function lockDataDir(dir: string, what = 'trustplane serve'): DataDirLock {
  const file = join(dir, LOCK_FILE);
  if (held.has(file)) throw new DataDirError('DATA_DIR_LOCKED', `the data directory ${dir} is already served by this process (pid ${process.pid})`);
  // The lock appears with its pid already in it (written to a temp file, then hard-linked into place, which fails
  // if the lock exists): nobody ever reads an empty lock and mistakes it for a stale one.
  const temp = join(dir, `.${LOCK_FILE}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, `${process.pid}\n`, { mode: 0o600 });
  } catch (err) {
    throw fileError(err, 'cannot create the lock', file);
  }
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(temp, file);
      } catch (err) {
        if (errnoOf(err) !== 'EEXIST') throw fileError(err, 'cannot create the lock', file);
        const pid = readPid(file);
        // Our own pid in a lock we do not hold was left by an earlier process that had this pid: stale.
        if (pid !== undefined && pid !== process.pid && alive(pid)) {
          throw new DataDirError(
            'DATA_DIR_LOCKED',
            `the data directory ${dir} is already served by pid ${pid}; stop that process first, or give this one another --data-dir (if pid ${pid} is not trustplane, remove ${file})`,
          );
        }
        // Stale (its process is gone) or unreadable: take it over. Re-read just before removing, so a lock another
        // starting process has just written is not the one removed.
        if (readPid(file) === pid) rmSync(file, { force: true });
        continue;
      }
      held.add(file);
      return {
        file,
        release() {
          if (!held.delete(file)) return;
          if (readPid(file) === process.pid) rmSync(file, { force: true });
        },
      };
    }
  } finally {
    rmSync(temp, { force: true });
  }
  throw new DataDirError('DATA_DIR_LOCK_CONTENDED', `could not take the lock ${file}: other processes keep taking it; is ${what} being started several times at once?`);
}
