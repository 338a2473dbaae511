// The CA's journal (src/ca/key-journal-store.ts): journal.json, and per authority its certificate <id>.crt.pem and,
// while it may sign, its key <id>.key.pem. The CA refuses to read a directory whose keys others could read.
import { X509Certificate, type KeyObject } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CaError } from './errors.js';
import { KEY_TYPES, type KeyType } from './key-type.js';
import { assertPrivateKeys, checkOneActive, KeyJournalStore, parseState, type AuthorityState, type JournalFormat } from './key-journal-store.js';

export type { AuthorityState } from './key-journal-store.js';

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

const FORMAT: JournalFormat<Journal> = {
  file: 'journal.json',
  keyFile: (id) => `${id}.key.pem`,
  ioError: (message) => new CaError('CA_STORE_IO', message),
  corruptError: (message) => new CaError('CA_STORE_CORRUPT', message),
  corruptFix: 'restore it from a backup, or remove the CA directory to start over with a new CA (workloads then need the new bundle)',
  parse(d, corrupt) {
    if (!Number.isSafeInteger(d['bundleSequence'])) throw corrupt('has no integer "bundleSequence"');
    if (!Array.isArray(d['authorities'])) throw corrupt('has no "authorities" array');
    const authorities = d['authorities'].map((a: unknown, i: number): JournalEntry => {
      const e = a as Partial<Record<keyof JournalEntry, unknown>>;
      const where = `authorities[${i}]`;
      if (typeof e !== 'object' || e === null) throw corrupt(`${where} is not an object`);
      if (typeof e.id !== 'string' || !/^[0-9A-F]{2,40}$/.test(e.id)) throw corrupt(`${where}.id is not an upper-case hex serial`);
      const state = parseState(e.state, where, corrupt);
      if (typeof e.keyType !== 'string' || !(KEY_TYPES as readonly string[]).includes(e.keyType)) throw corrupt(`${where}.keyType is not one of ${KEY_TYPES.join(', ')}`);
      if (!Number.isSafeInteger(e.issuedUntil)) throw corrupt(`${where}.issuedUntil is not an integer`);
      return { id: e.id, state, keyType: e.keyType as KeyType, issuedUntil: e.issuedUntil as number };
    });
    checkOneActive(authorities, 'authority', corrupt);
    return { bundleSequence: d['bundleSequence'] as number, authorities };
  },
};

export class CaStore extends KeyJournalStore<Journal> {
  constructor(dataDir: string) {
    super(dataDir, FORMAT);
  }

  certFile(id: string): string {
    return join(this.dir, `${id}.crt.pem`);
  }

  /** Refuses a CA whose keys others could read (see assertPrivateKeys). */
  assertPrivate(): void {
    assertPrivateKeys(this.dir);
  }

  /** The journal, or undefined when this data directory has no CA yet; refused while its keys are exposed. */
  override readJournal(): Journal | undefined {
    this.assertPrivate();
    return super.readJournal();
  }

  writeAuthority(id: string, certPem: string, privateKeyPem: string): void {
    this.writeKey(id, privateKeyPem);
    this.writeText(this.certFile(id), certPem);
  }

  readCertificate(id: string): X509Certificate {
    const file = this.certFile(id);
    const pem = this.readText(file, false)!;
    try {
      return new X509Certificate(pem);
    } catch {
      throw this.corrupt(file, 'is not a PEM certificate');
    }
  }

  readPrivateKey(id: string, cert: X509Certificate): KeyObject {
    return this.readKey(id, (key) => cert.checkPrivateKey(key), `the certificate in ${this.certFile(id)}`);
  }

  removeAuthority(id: string): void {
    this.removeKey(id);
    rmSync(this.certFile(id), { force: true });
  }
}
