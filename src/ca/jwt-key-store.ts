// The JWT signing keys' I/O edge, beside the X.509 CA in <dataDir>/ca (0700): jwt-journal.json and one
// jwt-<kid>.key.pem (0600) per key that may still sign. Every write is atomic. Public keys live in the journal, so a
// key that only verifies (old) needs no private key on disk. Errors name the file, never its contents.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthorityState } from './ca-store.js';
import { ensurePrivateDir, writeFileAtomic } from './atomic-file.js';
import { JwtKeyError } from './jwt-errors.js';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '../jwt/algorithms.js';
import { JWT_KEY_PARAMS, jwtAuthorityOf, type JwtAuthority } from '../spiffe/jwt-authority.js';

export interface JwtJournalEntry {
  /** The key ID: the key's RFC 7638 JWK thumbprint (base64url), so it also names its file safely. */
  readonly kid: string;
  readonly state: AuthorityState;
  readonly algorithm: SigningAlgorithm;
  /** The schedule's validity of the key (ms since epoch); tokens never outlive notAfter. */
  readonly notBefore: number;
  readonly notAfter: number;
  /** Upper bound on the exp of every token this key may have signed (ms since epoch); 0 if none. */
  readonly issuedUntil: number;
  readonly publicKey: Readonly<Record<string, string>>;
}

export interface JwtJournal {
  readonly trustDomain: string;
  readonly sequence: number;
  readonly keys: readonly JwtJournalEntry[];
}

const JOURNAL_VERSION = 1;
const STATES: readonly string[] = ['prepared', 'active', 'old'];
const KID = /^[A-Za-z0-9_-]{16,128}$/;

export class JwtKeyStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'ca');
  }

  get journalFile(): string {
    return join(this.dir, 'jwt-journal.json');
  }

  keyFile(kid: string): string {
    return join(this.dir, `jwt-${kid}.key.pem`);
  }

  readJournal(): JwtJournal | undefined {
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

  writeJournal(journal: JwtJournal): void {
    ensurePrivateDir(this.dir);
    this.#write(this.journalFile, JSON.stringify({ version: JOURNAL_VERSION, ...journal }, null, 2) + '\n');
  }

  writeKey(kid: string, privateKeyPem: string): void {
    ensurePrivateDir(this.dir);
    this.#write(this.keyFile(kid), privateKeyPem);
  }

  /** The private key of kid, checked against the public key the journal holds for it. */
  readKey(kid: string, publicKey: Readonly<Record<string, string>>): KeyObject {
    const file = this.keyFile(kid);
    const pem = this.#read(file, false)!;
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch {
      throw corrupt(file, 'is not a PEM private key');
    }
    const spki = (k: KeyObject): Buffer => k.export({ type: 'spki', format: 'der' });
    let matches = false;
    try {
      matches = spki(createPublicKey(key)).equals(spki(createPublicKey({ key: publicKey as never, format: 'jwk' })));
    } catch {
      matches = false;
    }
    if (!matches) throw corrupt(file, `does not belong to key ${kid} of ${this.journalFile}`);
    return key;
  }

  removeKey(kid: string): void {
    rmSync(this.keyFile(kid), { force: true });
  }

  #read(file: string, optional: boolean): string | undefined {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new JwtKeyError('JWT_KEY_STORE_IO', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }

  #write(file: string, data: string): void {
    try {
      writeFileAtomic(file, data);
    } catch (err) {
      throw new JwtKeyError('JWT_KEY_STORE_IO', `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
}

function corrupt(file: string, what: string): JwtKeyError {
  return new JwtKeyError(
    'JWT_KEY_STORE_CORRUPT',
    `${file} ${what}; restore it from a backup, or remove the jwt-* files of the CA directory to start over with new JWT keys (relying parties then need the new keys)`,
  );
}

function parseJournal(doc: unknown, file: string): JwtJournal {
  const d = doc as { version?: unknown; trustDomain?: unknown; sequence?: unknown; keys?: unknown };
  if (typeof d !== 'object' || d === null) throw corrupt(file, 'is not a JSON object');
  if (d.version !== JOURNAL_VERSION) throw corrupt(file, `has version ${JSON.stringify(d.version)}; this trustplane reads version ${JOURNAL_VERSION}`);
  if (typeof d.trustDomain !== 'string') throw corrupt(file, 'has no "trustDomain"');
  if (!Number.isSafeInteger(d.sequence) || (d.sequence as number) < 0) throw corrupt(file, 'has no integer "sequence"');
  if (!Array.isArray(d.keys)) throw corrupt(file, 'has no "keys" array');
  const keys = d.keys.map((k: unknown, i: number): JwtJournalEntry => {
    const e = k as Partial<Record<keyof JwtJournalEntry, unknown>>;
    const where = `keys[${i}]`;
    if (typeof e !== 'object' || e === null) throw corrupt(file, `${where} is not an object`);
    if (typeof e.kid !== 'string' || !KID.test(e.kid)) throw corrupt(file, `${where}.kid is not a base64url key ID`);
    if (typeof e.state !== 'string' || !STATES.includes(e.state)) throw corrupt(file, `${where}.state is not one of ${STATES.join(', ')}`);
    if (typeof e.algorithm !== 'string' || !(SIGNING_ALGORITHMS as readonly string[]).includes(e.algorithm)) throw corrupt(file, `${where}.algorithm is not one of ${SIGNING_ALGORITHMS.join(', ')}`);
    for (const f of ['notBefore', 'notAfter', 'issuedUntil'] as const) if (!Number.isSafeInteger(e[f])) throw corrupt(file, `${where}.${f} is not an integer`);
    const pk = e.publicKey as Record<string, unknown> | undefined;
    const params = typeof pk === 'object' && pk !== null ? JWT_KEY_PARAMS[String(pk['kty'])] : undefined;
    if (!params || !params.every((p) => typeof pk![p] === 'string')) throw corrupt(file, `${where}.publicKey is not an EC or RSA public JWK`);
    const publicKey: Record<string, string> = { kty: String(pk!['kty']) };
    for (const p of params) publicKey[p] = pk![p] as string;
    return {
      kid: e.kid, state: e.state as AuthorityState, algorithm: e.algorithm as SigningAlgorithm,
      notBefore: e.notBefore as number, notAfter: e.notAfter as number, issuedUntil: e.issuedUntil as number, publicKey,
    };
  });
  if (keys.filter((k) => k.state === 'active').length > 1) throw corrupt(file, 'has more than one active key');
  return { trustDomain: d.trustDomain, sequence: d.sequence as number, keys };
}

/**
 * The JWT authorities a data directory publishes, read without creating or changing anything (for verifiers on
 * the CA's host, such as `trustplane jwt verify`); undefined when the directory has no JWT keys.
 */
export function readPublishedJwtAuthorities(dataDir: string): { trustDomain: string; sequence: number; authorities: JwtAuthority[] } | undefined {
  const journal = new JwtKeyStore(dataDir).readJournal();
  if (!journal) return undefined;
  return { trustDomain: journal.trustDomain, sequence: journal.sequence, authorities: journal.keys.map((k) => jwtAuthorityOf(k.kid, k.publicKey)) };
}
