// What a failed file-system call means to a user, as one line with a stable code: which file, what was being done,
// and what the errno says. Messages never quote a file's contents (a key file's bytes must not reach a terminal).
import { TrustplaneError } from '../errors.js';

export class FileError extends TrustplaneError {}

const REASONS: Record<string, { code: string; reason: string }> = {
  ENOENT: { code: 'FILE_NOT_FOUND', reason: 'no such file or directory' },
  ENOTDIR: { code: 'NOT_A_DIRECTORY', reason: 'a part of the path is a file, not a directory' },
  EISDIR: { code: 'IS_A_DIRECTORY', reason: 'it is a directory, not a file' },
  EACCES: { code: 'PERMISSION_DENIED', reason: 'permission denied' },
  EPERM: { code: 'PERMISSION_DENIED', reason: 'operation not permitted' },
  EROFS: { code: 'READ_ONLY_FILE_SYSTEM', reason: 'read-only file system' },
  EEXIST: { code: 'FILE_EXISTS', reason: 'it already exists' },
  ENOSPC: { code: 'NO_SPACE', reason: 'no space left on the device' },
  ENAMETOOLONG: { code: 'PATH_TOO_LONG', reason: 'the path is too long' },
  ELOOP: { code: 'SYMLINK_LOOP', reason: 'too many levels of symbolic links' },
};

/** The errno code of a Node error, if it has one. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/**
 * A FileError for `err` raised while doing `action` (e.g. "cannot read the bundle") on `path`; errors that already
 * are TrustplaneErrors pass through unchanged.
 */
export function fileError(err: unknown, action: string, path: string): TrustplaneError {
  if (err instanceof TrustplaneError) return err;
  const errno = errnoOf(err);
  const known = errno ? REASONS[errno] : undefined;
  if (known) return new FileError(known.code, `${action} ${path}: ${known.reason} (${errno})`);
  return new FileError('FILE_IO_FAILED', `${action} ${path}: ${errno ?? (err as Error).message}`);
}
