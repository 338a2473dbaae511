// The CA's I/O edge: its keys, certificates and rotation journal in <dataDir>/ca. Keys are 0600, the directory
// 0700, every write atomic. Errors name the file and what to do; they never quote a file's contents.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, writeFileAtomic } from './atomic-file.js';
import { CaError } from './errors.js';
import { KEY_TYPES, type KeyType } from './key-type.js';

export type AuthorityState = 'prepared' | 'active' | 'old';

export interface JournalEntry {
  /** Upper-case hex serial of the CA certificate; names its files. */
  readonly id: string;
  readonly state: AuthorityState;
  readonly keyType: KeyType;
  /** Upper bound on the notAfter of every SVID this CA may have signed (ms since epoch); 0 if none. */
  readonly issuedUntil: number;
}

export interface Journal {
  readonly bundleSequence: number;
  readonly authorities: readonly JournalEntry[];
}

const JOURNAL_VERSION = 1;
const STATES: readonly string[] = ['prepared', 'active', 'old'];

export class CaStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'ca');
  }

  get journalFile(): string {
    return join(this.dir, 'journal.json');
  }

  certFile(id: string): string {
    return join(this.dir, `${id}.crt.pem`);
  }

  keyFile(id: string): string {
    return join(this.dir, `${id}.key.pem`);
  }

  /**
   * Refuses a CA whose keys others could read: a key left 0644 or a directory left 0755 (by a restore, a copy, an
   * operator) may already have been copied, so trustplane never signs with it. The error gives the command that
   * fixes the modes; whether to also start a new CA (the key may have leaked) is the operator's call.
   */
  assertPrivate(): void {
    let entries: string[];
    try {
      entries = readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new CaError('CA_STORE_IO', `cannot list ${this.dir}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const uid = process.getuid?.();
    const exposed: string[] = [];
    const dirStat = lstatSync(this.dir);
    if ((dirStat.mode & 0o077) !== 0) exposed.push(`${this.dir} is mode ${(dirStat.mode & 0o777).toString(8).padStart(4, '0')}`);
    const keys = entries.filter((f) => f.endsWith('.key.pem'));
    for (const k of keys) {
      const st = lstatSync(join(this.dir, k));
      if (!st.isFile()) exposed.push(`${join(this.dir, k)} is not a regular file`);
      else if ((st.mode & 0o077) !== 0) exposed.push(`${join(this.dir, k)} is mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}`);
      else if (uid !== undefined && st.uid !== uid) exposed.push(`${join(this.dir, k)} belongs to uid ${st.uid}`);
    }
    if (exposed.length) {
      throw new CaError(
        'CA_KEY_EXPOSED',
        `the CA's keys must be readable by their owner only, and ${exposed.join('; ')}; trustplane does not sign with a key others can read. Fix: chmod 700 ${this.dir} && chmod 600 ${this.dir}/*.key.pem (as uid ${uid ?? 'owner'}); if others may have copied a key, remove ${this.dir} to start a new CA`,
      );
    }
  }

  /** The journal, or undefined when this data directory has no CA yet. */
  readJournal(): Journal | undefined {
    this.assertPrivate();
    const file = this.journalFile;
    const text = this.#read(file, true);
    if (text === undefined) return undefined;
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw corrupt(file, 'is not valid JSON (a partial write or manual edit?)');
    }
    return parseJournal(doc, file);
  }

  writeJournal(journal: Journal): void {
    ensurePrivateDir(this.dir);
    this.#write(this.journalFile, JSON.stringify({ version: JOURNAL_VERSION, ...journal }, null, 2) + '\n');
  }

  writeAuthority(id: string, certPem: string, privateKeyPem: string): void {
    ensurePrivateDir(this.dir);
    this.#write(this.keyFile(id), privateKeyPem);
    this.#write(this.certFile(id), certPem);
  }

  readCertificate(id: string): X509Certificate {
    const file = this.certFile(id);
    const pem = this.#read(file, false)!;
    try {
      return new X509Certificate(pem);
    } catch {
      throw corrupt(file, 'is not a PEM certificate');
    }
  }

  readPrivateKey(id: string, cert: X509Certificate): KeyObject {
    const file = this.keyFile(id);
    const pem = this.#read(file, false)!;
    let key: KeyObject;
    try {
      // No `cause`: a parser's message could quote the bytes it choked on.
      key = createPrivateKey(pem);
    } catch {
      throw corrupt(file, 'is not a PEM private key');
    }
    if (!cert.checkPrivateKey(key)) throw corrupt(file, `does not belong to the certificate in ${this.certFile(id)}`);
    return key;
  }

  /** A CA that no longer signs needs no key on disk. */
  removeKey(id: string): void {
    rmSync(this.keyFile(id), { force: true });
  }

  removeAuthority(id: string): void {
    this.removeKey(id);
    rmSync(this.certFile(id), { force: true });
  }

  #read(file: string, optional: boolean): string | undefined {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CaError('CA_STORE_IO', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }

  #write(file: string, data: string): void {
    try {
      writeFileAtomic(file, data);
    } catch (err) {
      throw new CaError('CA_STORE_IO', `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
}

function corrupt(file: string, what: string): CaError {
  return new CaError(
    'CA_STORE_CORRUPT',
    `${file} ${what}; restore it from a backup, or remove the CA directory to start over with a new CA (workloads then need the new bundle)`,
  );
}

function parseJournal(doc: unknown, file: string): Journal {
  const d = doc as { version?: unknown; bundleSequence?: unknown; authorities?: unknown };
  if (typeof d !== 'object' || d === null) throw corrupt(file, 'is not a JSON object');
  if (d.version !== JOURNAL_VERSION) throw corrupt(file, `has version ${JSON.stringify(d.version)}; this trustplane reads version ${JOURNAL_VERSION}`);
  if (!Number.isSafeInteger(d.bundleSequence)) throw corrupt(file, 'has no integer "bundleSequence"');
  if (!Array.isArray(d.authorities)) throw corrupt(file, 'has no "authorities" array');
  const authorities = d.authorities.map((a: unknown, i: number): JournalEntry => {
    const e = a as Partial<Record<keyof JournalEntry, unknown>>;
    const where = `authorities[${i}]`;
    if (typeof e !== 'object' || e === null) throw corrupt(file, `${where} is not an object`);
    if (typeof e.id !== 'string' || !/^[0-9A-F]{2,40}$/.test(e.id)) throw corrupt(file, `${where}.id is not an upper-case hex serial`);
    if (typeof e.state !== 'string' || !STATES.includes(e.state)) throw corrupt(file, `${where}.state is not one of ${STATES.join(', ')}`);
    if (typeof e.keyType !== 'string' || !(KEY_TYPES as readonly string[]).includes(e.keyType)) throw corrupt(file, `${where}.keyType is not one of ${KEY_TYPES.join(', ')}`);
    if (!Number.isSafeInteger(e.issuedUntil)) throw corrupt(file, `${where}.issuedUntil is not an integer`);
    return { id: e.id, state: e.state as AuthorityState, keyType: e.keyType as KeyType, issuedUntil: e.issuedUntil as number };
  });
  if (authorities.filter((a) => a.state === 'active').length > 1) throw corrupt(file, 'has more than one active authority');
  return { bundleSequence: d.bundleSequence as number, authorities };
}
