// File reads and directory creation with errors a user can act on (see fs-errors.ts).
import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { errnoOf, fileError, FileError } from './fs-errors.js';

/** Reads a text file; `what` names it for the user ("the bundle", "the certificate chain"). */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw fileError(err, `cannot read ${what}`, path);
  }
}

/**
 * Creates `dir` and its missing parents, each with `mode`. Node's own recursive mkdir never returns on some paths
 * (under /proc every mkdir fails with ENOENT although the parent exists, and it retries the parent forever), so the
 * missing parts are found with stat and created one by one, parent first. Returns the directories created.
 * `what` names the directory for errors ("the output directory").
 */
export function makeDirs(dir: string, mode: number, what: string): string[] {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      const errno = errnoOf(err);
      if (errno !== 'ENOENT') throw fileError(err, `cannot create ${what}`, dir);
      missing.push(p);
      const parent = dirname(p);
      if (parent === p) throw fileError(err, `cannot create ${what}`, dir);
      p = parent;
      continue;
    }
    if (!isDir) throw new FileError('NOT_A_DIRECTORY', `cannot create ${what} ${dir}: ${p} is a file, not a directory (ENOTDIR)`);
    break;
  }
  const created: string[] = [];
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, { mode });
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw fileError(err, `cannot create ${what}`, dir);
      continue;
    }
    created.push(d);
  }
  return created;
}

/** makeDirs, then gives `dir` itself exactly `mode` (mkdir's mode is filtered by the umask). */
export function makePrivateDir(dir: string, what: string, mode = 0o700): void {
  makeDirs(dir, mode, what);
  try {
    chmodSync(dir, mode);
  } catch (err) {
    throw fileError(err, `cannot set the mode of ${what}`, dir);
  }
}
