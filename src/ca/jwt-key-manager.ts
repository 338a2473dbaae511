// The embedded CA's JWT-SVID signing keys. Each key has a `kid` and goes through the same journal as the X.509 CA
// (key-rotation.ts): prepared (published in the bundle, not yet signing) -> active (signs) -> old (published until
// every token it signed has expired). The schedule is the CA's, with the token TTL in place of the SVID TTL:
// prepare at half the key's life, activate at 5/6 (never less than the publish lead after it was published).
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { DEFAULT_SIGNING_ALGORITHM, generateJwtKey, type SigningAlgorithm } from '../jwt/algorithms.js';
import { JwtSvidError } from '../jwt/errors.js';
import { checkAudience, DEFAULT_JWT_SVID_TTL_MS, MAX_JWT_SVID_TTL_MS, MIN_JWT_SVID_TTL_MS, signJwtSvid, type JwtSvid } from '../jwt/mint.js';
import type { SpiffeId } from '../spiffe/id.js';
import { jwtAuthorityOf, type JwtAuthority } from '../spiffe/jwt-authority.js';
import type { TrustDomain } from '../spiffe/trust-domain.js';
import type { AuthorityState } from './key-journal-store.js';
import { JwtKeyError } from './jwt-errors.js';
import { JwtKeyStore } from './jwt-key-store.js';
import { KeyRotation, type RotatingKey, type RotationLogger } from './key-rotation.js';
import { minimumCaTtlMs, publishLeadMs } from './rotation.js';

export const DEFAULT_JWT_KEY_TTL_MS = 7 * 24 * 3600_000;

export interface JwtKeyManagerOptions {
  readonly trustDomain: TrustDomain;
  /** Keys live in <dataDir>/ca beside the X.509 CA. */
  readonly dataDir: string;
  readonly clock?: Clock;
  /** ES256 (default), ES384 or RS256; applies to keys created from now on. */
  readonly algorithm?: SigningAlgorithm;
  /** Life of each key on the rotation schedule; default 7 days, at least 3 token TTLs. */
  readonly keyTtlMs?: number;
  /** Default JWT-SVID lifetime; default 5 minutes, at most 1 hour. */
  readonly tokenTtlMs?: number;
  /** `iss` of every token (the OIDC issuer URL), when relying parties need one. */
  readonly issuer?: string;
  readonly logger?: RotationLogger;
}

export interface JwtKeyStatus {
  readonly keyId: string;
  readonly state: AuthorityState;
  readonly algorithm: SigningAlgorithm;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Latest exp of a token it may have signed; an old key leaves the bundle then. */
  readonly issuedUntil: Date | undefined;
}

/** A JWT key in the journal (id = kid); it signs with its private key (the signer) while prepared or active. */
interface Key extends RotatingKey<KeyObject> {
  readonly algorithm: SigningAlgorithm;
  readonly authority: JwtAuthority;
}

const ORDER: Record<AuthorityState, number> = { active: 0, prepared: 1, old: 2 };
const noLogger = { info() {}, warn() {} };

export class JwtKeyManager {
  readonly trustDomain: TrustDomain;
  readonly tokenTtlMs: number;
  readonly issuer: string | undefined;
  readonly #clock: Clock;
  readonly #algorithm: SigningAlgorithm;
  readonly #keyTtlMs: number;
  readonly #store: JwtKeyStore;
  readonly #logger: RotationLogger;
  readonly #listeners = new Set<() => void>();
  #rotation!: KeyRotation<Key>;
  #published: JwtAuthority[] | undefined;

  private constructor(opts: JwtKeyManagerOptions) {
    this.trustDomain = opts.trustDomain;
    this.#clock = opts.clock ?? systemClock;
    this.#algorithm = opts.algorithm ?? DEFAULT_SIGNING_ALGORITHM;
    this.tokenTtlMs = opts.tokenTtlMs ?? DEFAULT_JWT_SVID_TTL_MS;
    this.issuer = opts.issuer;
    this.#logger = opts.logger ?? noLogger;
    checkTtl(this.tokenTtlMs, 'JWT-SVID TTL');
    this.#keyTtlMs = opts.keyTtlMs ?? DEFAULT_JWT_KEY_TTL_MS;
    if (!(Number.isSafeInteger(this.#keyTtlMs) && this.#keyTtlMs >= minimumCaTtlMs(this.tokenTtlMs))) {
      throw new JwtKeyError('JWT_TTL_INVALID', `JWT key TTL must be at least 3 token TTLs (${minimumCaTtlMs(this.tokenTtlMs)} ms), got ${this.#keyTtlMs}`);
    }
    this.#store = new JwtKeyStore(opts.dataDir);
  }

  /** Loads the keys from the data directory, creating the first one on first use, and starts the rotation schedule. */
  static open(opts: JwtKeyManagerOptions): JwtKeyManager {
    const m = new JwtKeyManager(opts);
    m.#rotation = m.#load();
    m.#rotation.reconcile();
    return m;
  }

  /** Changes whenever the published keys change (the bundle's spiffe_sequence adds it to the CA's). */
  get sequence(): number {
    return this.#rotation.sequence;
  }

  /** How long a new key is published before it may sign, at the least: what relying parties' caches must stay under. */
  get publishLeadMs(): number {
    return publishLeadMs(this.tokenTtlMs);
  }

  /** See KeyRotation.requirePublication: among replicas, a key signs only once the datastore holds it. */
  requirePublication(): void {
    this.#rotation.requirePublication();
  }

  /** These keys are visible to every verifier from now on. */
  confirmPublished(kids: Iterable<string>): void {
    this.#rotation.confirmPublished(kids);
  }

  /** Every key a verifier must know now: active, prepared, old. */
  authorities(): JwtAuthority[] {
    this.#published ??= [...this.#rotation.keys].sort((a, b) => ORDER[a.state] - ORDER[b.state]).map((k) => k.authority);
    return this.#published;
  }

  /** Called synchronously whenever the published keys change; returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Mints a JWT-SVID for an ID of this trust domain, signed by the active key. */
  async mint(spiffeId: SpiffeId, audience: readonly string[], opts: { ttlMs?: number } = {}): Promise<JwtSvid> {
    const active = this.#rotation.active();
    const now = this.#clock.now();
    if (!spiffeId.memberOf(this.trustDomain)) {
      throw new JwtSvidError('JWT_MINT_INVALID', `cannot mint a JWT-SVID for ${spiffeId}: this CA issues only in trust domain ${this.trustDomain.name}`);
    }
    if (spiffeId.path === '') throw new JwtSvidError('JWT_MINT_INVALID', `cannot mint a JWT-SVID for ${spiffeId}: a workload's SPIFFE ID has a path`);
    const aud = checkAudience(audience);
    const ttl = opts.ttlMs ?? this.tokenTtlMs;
    checkTtl(ttl, 'JWT-SVID TTL', JwtSvidError);
    const privateKey = active?.signer;
    if (!active || !privateKey) throw new JwtKeyError('JWT_NOT_ACTIVE', 'the CA has no active JWT signing key (closed?)');
    const iat = Math.floor(now / 1000);
    const exp = Math.floor(Math.min(now + ttl, active.notAfter) / 1000);
    this.#rotation.record(active, exp * 1000);
    const token = await signJwtSvid({
      privateKey, keyId: active.id, algorithm: active.algorithm, spiffeId, audience: aud,
      issuedAt: iat, expiresAt: exp, ...(this.issuer !== undefined ? { issuer: this.issuer } : {}),
    });
    return { token, spiffeId, audience: aud, keyId: active.id, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000) };
  }

  /** Rotates now: a new key is prepared and published (listeners see it first), then made active. */
  rotateNow(): void {
    this.#rotation.rotateNow();
  }

  status(): JwtKeyStatus[] {
    return this.#rotation.keys.map((k) => ({
      keyId: k.id, state: k.state, algorithm: k.algorithm,
      notBefore: new Date(k.notBefore), notAfter: new Date(k.notAfter),
      issuedUntil: k.issued > 0 ? new Date(k.issued) : undefined,
    }));
  }

  close(): void {
    this.#rotation.close();
  }

  #load(): KeyRotation<Key> {
    const store = this.#store;
    const journal = store.readJournal();
    if (journal && journal.trustDomain !== this.trustDomain.name) {
      throw new JwtKeyError('JWT_KEY_TRUST_DOMAIN_MISMATCH', `${store.journalFile} holds the JWT keys of trust domain ${journal.trustDomain}, not of ${this.trustDomain.name}: use another data directory`);
    }
    const keys = journal?.keys.map((e): Key => ({
      id: e.kid, state: e.state, algorithm: e.algorithm, notBefore: e.notBefore, notAfter: e.notAfter,
      authority: jwtAuthorityOf(e.kid, e.publicKey),
      signer: e.state === 'old' ? undefined : store.readPrivateKey(e.kid, e.publicKey),
      issued: e.issuedUntil, reserved: e.issuedUntil,
    }));
    return new KeyRotation<Key>(
      {
        clock: this.#clock,
        logger: this.#logger,
        signedTtlMs: this.tokenTtlMs,
        words: { field: 'jwtKey', key: 'JWT signing key', journal: 'JWT key' },
        // On its own a key is published when made (the bundle it rides in is served at once); among replicas, when
        // the datastore took it (KeyRotation.requirePublication).
        publishedAt: (k) => k.notBefore,
        create: (state) => this.#create(state),
        fingerprint: (ks) => ks.map((k) => k.id).sort().join(),
        write: (ks, sequence) =>
          store.writeJournal({
            trustDomain: this.trustDomain.name,
            sequence,
            keys: ks.map((k) => ({ kid: k.id, state: k.state, algorithm: k.algorithm, notBefore: k.notBefore, notAfter: k.notAfter, issuedUntil: k.reserved, publicKey: k.authority.publicKey })),
          }),
        retire: (kid) => store.removeKey(kid),
        forget: (kid) => store.removeKey(kid),
        committed: (publishedChanged) => {
          this.#published = undefined;
          if (publishedChanged) for (const l of [...this.#listeners]) l();
        },
        // `trustplane jwt mint` signs on the same data directory: its bounds count here too.
        recorded: () => {
          try {
            return new Map((store.readJournal()?.keys ?? []).map((e) => [e.kid, e.issuedUntil]));
          } catch {
            return undefined;
          }
        },
      },
      journal && keys && { sequence: journal.sequence, keys },
    );
  }

  #create(state: AuthorityState): Key {
    const now = this.#clock.now();
    const generated = generateJwtKey(this.#algorithm);
    // SPIRE-style random key IDs: they say nothing about the key and cannot collide across trust domains by design.
    const kid = randomBytes(24).toString('base64url');
    this.#store.writeKey(kid, generated.privateKeyPem);
    const key: Key = {
      id: kid, state, algorithm: this.#algorithm, notBefore: now, notAfter: now + this.#keyTtlMs,
      authority: jwtAuthorityOf(kid, generated.publicJwk), signer: createPrivateKey(generated.privateKeyPem), issued: 0, reserved: 0,
    };
    this.#logger.info({ jwtKey: kid, state, algorithm: this.#algorithm, notAfter: new Date(key.notAfter).toISOString() }, 'JWT signing key created');
    return key;
  }
}

function checkTtl(ttl: number, what: string, E: typeof JwtKeyError | typeof JwtSvidError = JwtKeyError): void {
  if (Number.isSafeInteger(ttl) && ttl >= MIN_JWT_SVID_TTL_MS && ttl <= MAX_JWT_SVID_TTL_MS) return;
  const msg = `${what} must be a whole number of milliseconds from ${MIN_JWT_SVID_TTL_MS} to ${MAX_JWT_SVID_TTL_MS} (1 hour, the hard maximum), got ${ttl}`;
  throw E === JwtSvidError ? new JwtSvidError('JWT_MINT_INVALID', msg) : new JwtKeyError('JWT_TTL_INVALID', msg);
}
