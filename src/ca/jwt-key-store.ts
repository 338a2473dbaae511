// The JWT signing keys' journal (src/ca/key-journal-store.ts), beside the X.509 CA in <dataDir>/ca:
// jwt-journal.json and one jwt-<kid>.key.pem per key that may still sign. Public keys live in the journal, so a key
// that only verifies (old) needs no private key on disk.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { JwtKeyError } from './jwt-errors.js';
import { checkOneActive, KeyJournalStore, parseState, type AuthorityState, type JournalFormat } from './key-journal-store.js';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '../jwt/algorithms.js';
import { JWT_KEY_PARAMS, jwtAuthorityOf, type JwtAuthority } from '../spiffe/jwt-authority.js';

export interface JwtJournalEntry {
  /** The key ID: random base64url (SPIRE-style), so it also names its file safely. */
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

const KID = /^[A-Za-z0-9_-]{16,128}$/;

const FORMAT: JournalFormat<JwtJournal> = {
  file: 'jwt-journal.json',
  keyFile: (kid) => `jwt-${kid}.key.pem`,
  ioError: (message) => new JwtKeyError('JWT_KEY_STORE_IO', message),
  corruptError: (message) => new JwtKeyError('JWT_KEY_STORE_CORRUPT', message),
  corruptFix: 'restore it from a backup, or remove the jwt-* files of the CA directory to start over with new JWT keys (relying parties then need the new keys)',
  parse(d, corrupt) {
    if (typeof d['trustDomain'] !== 'string') throw corrupt('has no "trustDomain"');
    if (!Number.isSafeInteger(d['sequence']) || (d['sequence'] as number) < 0) throw corrupt('has no integer "sequence"');
    if (!Array.isArray(d['keys'])) throw corrupt('has no "keys" array');
    const keys = d['keys'].map((k: unknown, i: number): JwtJournalEntry => {
      const e = k as Partial<Record<keyof JwtJournalEntry, unknown>>;
      const where = `keys[${i}]`;
      if (typeof e !== 'object' || e === null) throw corrupt(`${where} is not an object`);
      if (typeof e.kid !== 'string' || !KID.test(e.kid)) throw corrupt(`${where}.kid is not a base64url key ID`);
      const state = parseState(e.state, where, corrupt);
      if (typeof e.algorithm !== 'string' || !(SIGNING_ALGORITHMS as readonly string[]).includes(e.algorithm)) throw corrupt(`${where}.algorithm is not one of ${SIGNING_ALGORITHMS.join(', ')}`);
      for (const f of ['notBefore', 'notAfter', 'issuedUntil'] as const) if (!Number.isSafeInteger(e[f])) throw corrupt(`${where}.${f} is not an integer`);
      const pk = e.publicKey as Record<string, unknown> | undefined;
      const params = typeof pk === 'object' && pk !== null ? JWT_KEY_PARAMS[String(pk['kty'])] : undefined;
      if (!params || !params.every((p) => typeof pk![p] === 'string')) throw corrupt(`${where}.publicKey is not an EC or RSA public JWK`);
      const publicKey: Record<string, string> = { kty: String(pk!['kty']) };
      for (const p of params) publicKey[p] = pk![p] as string;
      return {
        kid: e.kid, state, algorithm: e.algorithm as SigningAlgorithm,
        notBefore: e.notBefore as number, notAfter: e.notAfter as number, issuedUntil: e.issuedUntil as number, publicKey,
      };
    });
    checkOneActive(keys, 'key', corrupt);
    return { trustDomain: d['trustDomain'], sequence: d['sequence'] as number, keys };
  },
};

const spki = (k: KeyObject): Buffer => k.export({ type: 'spki', format: 'der' });

export class JwtKeyStore extends KeyJournalStore<JwtJournal> {
  constructor(dataDir: string) {
    super(dataDir, FORMAT);
  }

  /** The private key of kid, checked against the public key the journal holds for it. */
  readPrivateKey(kid: string, publicKey: Readonly<Record<string, string>>): KeyObject {
    const expected = (): Buffer => spki(createPublicKey({ key: publicKey as never, format: 'jwk' }));
    return this.readKey(kid, (key) => spki(createPublicKey(key)).equals(expected()), `key ${kid} of ${this.journalFile}`);
  }
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
