// The embedded CA's JWT-SVID signing keys. Each key has a `kid` and goes through the X.509 CA's journal
// (rotation.ts): prepared (published in the bundle, not yet signing) -> active (signs) -> old (published until
// every token it signed has expired). The schedule is the CA's, with the token TTL in place of the SVID TTL:
// prepare at half the key's life, activate at 5/6 (never less than the publish lead after it was published).
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock.js';
import { systemClock } from '../clock.js';
import { DEFAULT_SIGNING_ALGORITHM, generateJwtKey, type SigningAlgorithm } from '../jwt/algorithms.js';
import { JwtSvidError } from '../jwt/errors.js';
import { checkAudience, DEFAULT_JWT_SVID_TTL_MS, MAX_JWT_SVID_TTL_MS, MIN_JWT_SVID_TTL_MS, signJwtSvid, type JwtSvid } from '../jwt/mint.js';
import type { SpiffeId } from '../spiffe/id.js';
import { jwtAuthorityOf, type JwtAuthority } from '../spiffe/jwt-authority.js';
import type { TrustDomain } from '../spiffe/trust-domain.js';
import type { AuthorityState } from './ca-store.js';
import { JwtKeyError } from './jwt-errors.js';
import { JwtKeyStore } from './jwt-key-store.js';
import { activationTime, minimumCaTtlMs, preparationDue, publishLeadMs } from './rotation.js';

export const DEFAULT_JWT_KEY_TTL_MS = 7 * 24 * 3600_000;
/** How soon a failed rotation step (e.g. a full disk) is tried again. */
const RETRY_MS = 30_000;

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
  readonly logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
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

interface Key {
  readonly kid: string;
  state: AuthorityState;
  readonly algorithm: SigningAlgorithm;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly authority: JwtAuthority;
  /** Present while the key may sign (prepared or active). */
  privateKey: KeyObject | undefined;
  /** Exact latest exp issued (seeded with the persisted bound on load). */
  issued: number;
  /** Bound persisted before issuing past it, so a crash cannot lose track of what was signed. */
  reserved: number;
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
  readonly #logger: NonNullable<JwtKeyManagerOptions['logger']>;
  readonly #listeners = new Set<() => void>();
  #keys: Key[] = [];
  #sequence = 0;
  #published: JwtAuthority[] | undefined;
  /** issuedUntil per key as this process last read or wrote it: a higher value on disk is another process's. */
  #written = new Map<string, number>();
  #timer: TimerHandle | undefined;
  #nextDue = Infinity;
  #closed = false;

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
    m.#load();
    m.#reconcile();
    return m;
  }

  /** Changes whenever the published keys change (the bundle's spiffe_sequence adds it to the CA's). */
  get sequence(): number {
    return this.#sequence;
  }

  /** How long a new key is published before it may sign, at the least: what relying parties' caches must stay under. */
  get publishLeadMs(): number {
    return publishLeadMs(this.tokenTtlMs);
  }

  /** Every key a verifier must know now: active, prepared, old. */
  authorities(): JwtAuthority[] {
    this.#published ??= [...this.#keys].sort((a, b) => ORDER[a.state] - ORDER[b.state]).map((k) => k.authority);
    return this.#published;
  }

  /** Called synchronously whenever the published keys change; returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Mints a JWT-SVID for an ID of this trust domain, signed by the active key. */
  async mint(spiffeId: SpiffeId, audience: readonly string[], opts: { ttlMs?: number } = {}): Promise<JwtSvid> {
    const now = this.#clock.now();
    if (now >= this.#nextDue) this.#reconcile();
    if (!spiffeId.memberOf(this.trustDomain)) {
      throw new JwtSvidError('JWT_MINT_INVALID', `cannot mint a JWT-SVID for ${spiffeId}: this CA issues only in trust domain ${this.trustDomain.name}`);
    }
    if (spiffeId.path === '') throw new JwtSvidError('JWT_MINT_INVALID', `cannot mint a JWT-SVID for ${spiffeId}: a workload's SPIFFE ID has a path`);
    const aud = checkAudience(audience);
    const ttl = opts.ttlMs ?? this.tokenTtlMs;
    checkTtl(ttl, 'JWT-SVID TTL', JwtSvidError);
    const active = this.#keys.find((k) => k.state === 'active');
    if (!active?.privateKey) throw new JwtKeyError('JWT_NOT_ACTIVE', 'the CA has no active JWT signing key (closed?)');
    const iat = Math.floor(now / 1000);
    const exp = Math.floor(Math.min(now + ttl, active.notAfter) / 1000);
    if (exp * 1000 > active.reserved) {
      active.reserved = Math.min(active.notAfter, exp * 1000 + this.tokenTtlMs);
      this.#persist();
    }
    active.issued = Math.max(active.issued, exp * 1000);
    const token = await signJwtSvid({
      privateKey: active.privateKey, keyId: active.kid, algorithm: active.algorithm, spiffeId, audience: aud,
      issuedAt: iat, expiresAt: exp, ...(this.issuer !== undefined ? { issuer: this.issuer } : {}),
    });
    return { token, spiffeId, audience: aud, keyId: active.kid, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000) };
  }

  /** Rotates now: a new key is prepared and published (listeners see it first), then made active. */
  rotateNow(): void {
    this.#reconcile();
    if (!this.#keys.some((k) => k.state === 'prepared')) {
      this.#keys.push(this.#create('prepared'));
      this.#commit(true);
    }
    this.#activatePrepared();
    this.#commit(false);
    this.#schedule();
  }

  status(): JwtKeyStatus[] {
    return this.#keys.map((k) => ({
      keyId: k.kid, state: k.state, algorithm: k.algorithm,
      notBefore: new Date(k.notBefore), notAfter: new Date(k.notAfter),
      issuedUntil: k.issued > 0 ? new Date(k.issued) : undefined,
    }));
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #load(): void {
    const journal = this.#store.readJournal();
    if (!journal) return;
    if (journal.trustDomain !== this.trustDomain.name) {
      throw new JwtKeyError('JWT_KEY_TRUST_DOMAIN_MISMATCH', `${this.#store.journalFile} holds the JWT keys of trust domain ${journal.trustDomain}, not of ${this.trustDomain.name}: use another data directory`);
    }
    this.#sequence = journal.sequence;
    this.#written = new Map(journal.keys.map((e) => [e.kid, e.issuedUntil]));
    this.#keys = journal.keys.map((e) => ({
      kid: e.kid, state: e.state, algorithm: e.algorithm, notBefore: e.notBefore, notAfter: e.notAfter,
      authority: jwtAuthorityOf(e.kid, e.publicKey),
      privateKey: e.state === 'old' ? undefined : this.#store.readKey(e.kid, e.publicKey),
      issued: e.issuedUntil, reserved: e.issuedUntil,
    }));
  }

  #create(state: AuthorityState): Key {
    const now = this.#clock.now();
    const generated = generateJwtKey(this.#algorithm);
    // SPIRE-style random key IDs: they say nothing about the key and cannot collide across trust domains by design.
    const kid = randomBytes(24).toString('base64url');
    this.#store.writeKey(kid, generated.privateKeyPem);
    const key: Key = {
      kid, state, algorithm: this.#algorithm, notBefore: now, notAfter: now + this.#keyTtlMs,
      authority: jwtAuthorityOf(kid, generated.publicJwk), privateKey: createPrivateKey(generated.privateKeyPem), issued: 0, reserved: 0,
    };
    this.#logger.info({ jwtKey: kid, state, algorithm: this.#algorithm, notAfter: new Date(key.notAfter).toISOString() }, 'JWT signing key created');
    return key;
  }

  #reconcile(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    const before = this.#fingerprint();
    let changed = false;
    this.#absorbRecorded();
    for (const k of [...this.#keys]) {
      // Tokens never outlive their key's notAfter, so an expired key verifies nothing any more, whatever its state.
      if (!(k.notAfter <= now || (k.state === 'old' && k.issued <= now))) continue;
      this.#keys = this.#keys.filter((x) => x !== k);
      changed = true;
      this.#logger.info({ jwtKey: k.kid, state: k.state }, 'JWT signing key removed from the bundle');
    }
    if (!this.#keys.some((k) => k.state === 'active')) {
      if (this.#keys.some((k) => k.state === 'prepared')) {
        this.#logger.warn({}, 'no valid active JWT key: activating the prepared one ahead of schedule');
        this.#activatePrepared();
      } else {
        this.#keys.push(this.#create('active'));
      }
      changed = true;
    }
    const active = this.#keys.find((k) => k.state === 'active')!;
    const prepared = this.#keys.find((k) => k.state === 'prepared');
    if (!prepared) {
      if (now >= preparationDue(active, this.tokenTtlMs)) {
        this.#keys.push(this.#create('prepared'));
        changed = true;
      }
    } else if (now >= activationTime(active, prepared.notBefore, this.tokenTtlMs)) {
      this.#activatePrepared();
      changed = true;
    }
    if (changed) this.#commit(before !== this.#fingerprint());
    this.#schedule();
  }

  #fingerprint(): string {
    return this.#keys.map((k) => k.kid).sort().join();
  }

  #activatePrepared(): void {
    const prepared = this.#keys.find((k) => k.state === 'prepared');
    if (!prepared) return;
    for (const k of this.#keys) {
      if (k.state !== 'active') continue;
      k.state = 'old';
      k.privateKey = undefined;
      k.reserved = k.issued;
    }
    prepared.state = 'active';
    this.#published = undefined;
    this.#logger.info({ jwtKey: prepared.kid }, 'JWT signing key activated');
  }

  #commit(publishedChanged: boolean): void {
    if (publishedChanged) this.#sequence++;
    this.#published = undefined;
    this.#persist();
    for (const k of this.#keys) if (k.state === 'old') this.#store.removeKey(k.kid);
    if (publishedChanged) for (const l of [...this.#listeners]) l();
  }

  /**
   * Another process on this data directory (`trustplane jwt mint`) may have signed with a key and raised its bound
   * in the journal: what it signed counts as issued here too, so the key stays published until then.
   */
  #absorbRecorded(): void {
    let keys;
    try {
      keys = this.#store.readJournal()?.keys ?? [];
    } catch {
      return;
    }
    for (const e of keys) {
      if (e.issuedUntil <= (this.#written.get(e.kid) ?? 0)) continue;
      const k = this.#keys.find((x) => x.kid === e.kid);
      if (!k) continue;
      k.issued = Math.max(k.issued, e.issuedUntil);
      k.reserved = Math.max(k.reserved, e.issuedUntil);
    }
  }

  #persist(): void {
    // Never lower a bound another process wrote: what it signed must stay verifiable until it expires.
    this.#absorbRecorded();
    this.#store.writeJournal({
      trustDomain: this.trustDomain.name,
      sequence: this.#sequence,
      keys: this.#keys.map((k) => ({
        kid: k.kid, state: k.state, algorithm: k.algorithm, notBefore: k.notBefore, notAfter: k.notAfter, issuedUntil: k.reserved, publicKey: k.authority.publicKey,
      })),
    });
    this.#written = new Map(this.#keys.map((k) => [k.kid, k.reserved]));
  }

  #schedule(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#closed) return;
    const active = this.#keys.find((k) => k.state === 'active')!;
    const prepared = this.#keys.find((k) => k.state === 'prepared');
    const due = [active.notAfter, prepared ? activationTime(active, prepared.notBefore, this.tokenTtlMs) : preparationDue(active, this.tokenTtlMs)];
    for (const k of this.#keys) if (k.state === 'old') due.push(Math.min(k.issued, k.notAfter));
    this.#nextDue = Math.min(...due);
    this.#timer = this.#clock.setTimer(Math.max(0, this.#nextDue - this.#clock.now()), () => this.#scheduledReconcile());
  }

  // A failed step (a full disk) is logged and tried again soon, while the current keys keep signing.
  #scheduledReconcile(): void {
    try {
      this.#reconcile();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      this.#logger.warn({ code: typeof code === 'string' ? code : undefined, error: (err as Error).message, retryInMs: RETRY_MS }, 'JWT key rotation step failed; retrying');
      this.#timer?.cancel();
      if (!this.#closed) this.#timer = this.#clock.setTimer(RETRY_MS, () => this.#scheduledReconcile());
    }
  }
}

function checkTtl(ttl: number, what: string, E: typeof JwtKeyError | typeof JwtSvidError = JwtKeyError): void {
  if (Number.isSafeInteger(ttl) && ttl >= MIN_JWT_SVID_TTL_MS && ttl <= MAX_JWT_SVID_TTL_MS) return;
  const msg = `${what} must be a whole number of milliseconds from ${MIN_JWT_SVID_TTL_MS} to ${MAX_JWT_SVID_TTL_MS} (1 hour, the hard maximum), got ${ttl}`;
  throw E === JwtSvidError ? new JwtSvidError('JWT_MINT_INVALID', msg) : new JwtKeyError('JWT_TTL_INVALID', msg);
}
