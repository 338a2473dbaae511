// The I/O edge shared by the CA's and the JWT keys' journals, both in <dataDir>/ca (0700): a versioned JSON journal
// and one PEM private key file (0600) per key that may still sign, every write atomic. Errors name the file and
// what to do; they never quote a file's contents. What a journal holds is its JournalFormat's.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, writeFileAtomic } from './atomic-file.js';
import { CaError } from './errors.js';

export type AuthorityState = 'prepared' | 'active' | 'old';

export const JOURNAL_VERSION = 1;
const STATES: readonly string[] = ['prepared', 'active', 'old'];

export interface JournalFormat<J> {
  /** The journal's file name in the directory. */
  readonly file: string;
  /** The file name of a key's private key. */
  keyFile(id: string): string;
  /** The journal's content past its version (already checked); `corrupt` makes the error that names the file. */
  parse(doc: Readonly<Record<string, unknown>>, corrupt: (what: string) => Error): J;
  /** The errors of this journal: an I/O failure, and a corrupt file (whose message ends with the fix). */
  ioError(message: string): Error;
  corruptError(message: string): Error;
  /** What to do about a corrupt file, after "; ". */
  readonly corruptFix: string;
}

export class KeyJournalStore<J> {
  readonly dir: string;
  readonly #format: JournalFormat<J>;

  constructor(dataDir: string, format: JournalFormat<J>) {
    this.dir = join(dataDir, 'ca');
    this.#format = format;
  }

  get journalFile(): string {
    return join(this.dir, this.#format.file);
  }

  keyFile(id: string): string {
    return join(this.dir, this.#format.keyFile(id));
  }

  /** The journal, or undefined when this data directory has none yet. */
  readJournal(): J | undefined {
    const file = this.journalFile;
    const text = this.readText(file, true);
    if (text === undefined) return undefined;
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw this.corrupt(file, 'is not valid JSON (a partial write or manual edit?)');
    }
    const d = doc as Record<string, unknown>;
    if (typeof d !== 'object' || d === null) throw this.corrupt(file, 'is not a JSON object');
    if (d['version'] !== JOURNAL_VERSION) throw this.corrupt(file, `has version ${JSON.stringify(d['version'])}; this trustplane reads version ${JOURNAL_VERSION}`);
    return this.#format.parse(d, (what) => this.corrupt(file, what));
  }

  writeJournal(journal: object): void {
    ensurePrivateDir(this.dir);
    this.writeText(this.journalFile, JSON.stringify({ version: JOURNAL_VERSION, ...journal }, null, 2) + '\n');
  }

  writeKey(id: string, privateKeyPem: string): void {
    ensurePrivateDir(this.dir);
    this.writeText(this.keyFile(id), privateKeyPem);
  }

  /** The private key of `id`, refused unless `belongs` says it is the key the journal expects (`of` says whose). */
  readKey(id: string, belongs: (key: KeyObject) => boolean, of: string): KeyObject {
    const file = this.keyFile(id);
    const pem = this.readText(file, false)!;
    let key: KeyObject;
    try {
      // No `cause`: a parser's message could quote the bytes it choked on.
      key = createPrivateKey(pem);
    } catch {
      throw this.corrupt(file, 'is not a PEM private key');
    }
    let matches = false;
    try {
      matches = belongs(key);
    } catch {
      matches = false;
    }
    if (!matches) throw this.corrupt(file, `does not belong to ${of}`);
    return key;
  }

  /** A key that no longer signs needs no private key on disk. */
  removeKey(id: string): void {
    rmSync(this.keyFile(id), { force: true });
  }

  readText(file: string, optional: boolean): string | undefined {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.#format.ioError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }

  writeText(file: string, data: string): void {
    try {
      writeFileAtomic(file, data);
    } catch (err) {
      throw this.#format.ioError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }

  corrupt(file: string, what: string): Error {
    return this.#format.corruptError(`${file} ${what}; ${this.#format.corruptFix}`);
  }
}

/** An entry's state, as every journal spells it. */
export function parseState(value: unknown, where: string, corrupt: (what: string) => Error): AuthorityState {
  if (typeof value !== 'string' || !STATES.includes(value)) throw corrupt(`${where}.state is not one of ${STATES.join(', ')}`);
  return value as AuthorityState;
}

/** At most one key of a journal signs. */
export function checkOneActive(entries: readonly { state: AuthorityState }[], what: string, corrupt: (what: string) => Error): void {
  if (entries.filter((e) => e.state === 'active').length > 1) throw corrupt(`has more than one active ${what}`);
}

/**
 * Refuses a directory whose keys others could read: a key left 0644 or a directory left 0755 (by a restore, a copy,
 * an operator) may already have been copied, so trustplane never signs with it. The error gives the command that
 * fixes the modes; whether to also start anew (the key may have leaked) is the operator's call.
 */
export function assertPrivateKeys(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new CaError('CA_STORE_IO', `cannot list ${dir}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const uid = process.getuid?.();
  const exposed: string[] = [];
  const mode = (m: number): string => (m & 0o777).toString(8).padStart(4, '0');
  const dirStat = lstatSync(dir);
  if ((dirStat.mode & 0o077) !== 0) exposed.push(`${dir} is mode ${mode(dirStat.mode)}`);
  for (const k of entries.filter((f) => f.endsWith('.key.pem'))) {
    const st = lstatSync(join(dir, k));
    if (!st.isFile()) exposed.push(`${join(dir, k)} is not a regular file`);
    else if ((st.mode & 0o077) !== 0) exposed.push(`${join(dir, k)} is mode ${mode(st.mode)}`);
    else if (uid !== undefined && st.uid !== uid) exposed.push(`${join(dir, k)} belongs to uid ${st.uid}`);
  }
  if (exposed.length) {
    throw new CaError(
      'CA_KEY_EXPOSED',
      `the CA's keys must be readable by their owner only, and ${exposed.join('; ')}; trustplane does not sign with a key others can read. Fix: chmod 700 ${dir} && chmod 600 ${dir}/*.key.pem (as uid ${uid ?? 'owner'}); if others may have copied a key, remove ${dir} to start a new CA`,
    );
  }
}
