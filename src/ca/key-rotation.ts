// The journal of signing keys that the X.509 CA and the JWT-SVID keys share (SPIRE's prepared → active → old): a
// new key is prepared and published before it signs, takes over on the schedule of rotation.ts, and an old key stays
// published until everything it signed has expired. What a key is (a CA certificate, a JWK), how it is made, written
// and published is the caller's (its RotationSpec); when it moves between states, and what is persisted before
// signing, is decided here once for both.
import type { Clock, TimerHandle } from '../clock.js';
import type { AuthorityState } from './key-journal-store.js';
import { activationDue, activationTime, preparationDue } from './rotation.js';

/** How soon a failed rotation step (e.g. the disk was full) is tried again. */
export const RECONCILE_RETRY_MS = 30_000;

/** pino-compatible; receives identifiers and times only, never key material. */
export interface RotationLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** One key in the journal; S is what signs while the key may sign. */
export interface RotatingKey<S> {
  readonly id: string;
  state: AuthorityState;
  readonly notBefore: number;
  readonly notAfter: number;
  /** Present while the key may sign (prepared or active). */
  signer: S | undefined;
  /** Exact latest expiry of what it signed (seeded with the persisted bound on load). */
  issued: number;
  /** Bound persisted before signing past it, so a crash cannot lose track of what was signed. */
  reserved: number;
}

export interface RotationSpec<K extends RotatingKey<unknown>> {
  readonly clock: Clock;
  readonly logger: RotationLogger;
  /** Default lifetime of what the keys sign (SVID TTL, token TTL): the schedule's unit and the reservation step. */
  readonly signedTtlMs: number;
  /** Log wording: the log field naming a key, a key ("CA authority"), the journal ("CA"). */
  readonly words: { readonly field: string; readonly key: string; readonly journal: string };
  /** The latest time relying parties may have received the prepared key `k`. */
  publishedAt(k: K): number;
  /** Makes, stores and returns a new key. */
  create(state: AuthorityState): K;
  /** What relying parties see of the keys: when it changes, the published set changed. */
  fingerprint(keys: readonly K[]): string;
  /** Writes the journal. */
  write(keys: readonly K[], sequence: number): void;
  /** The key stopped signing: its private key may go. */
  retire(id: string): void;
  /** The key left the journal: all its files may go. */
  forget(id: string): void;
  /** After every commit; publishedChanged when relying parties must be told. */
  committed(publishedChanged: boolean): void;
  /**
   * Bounds other processes on the same data directory recorded in the journal (id → issuedUntil), when they may
   * sign with these keys too; undefined when the journal cannot be read now.
   */
  recorded?(): ReadonlyMap<string, number> | undefined;
}

export class KeyRotation<K extends RotatingKey<unknown>> {
  readonly #spec: RotationSpec<K>;
  #keys: K[];
  #sequence: number;
  /** IDs with files on disk, to delete the files of those that left. */
  #known: Set<string>;
  /** issuedUntil per key as this process last read or wrote it: a higher recorded value is another process's. */
  #written: Map<string, number>;
  #timer: TimerHandle | undefined;
  #nextDue = Infinity;
  #closed = false;
  /** With requirePublication(): when each key was first confirmed visible to every relying party. */
  #confirmed: Map<string, number> | undefined;

  /** Starts from the journal as loaded (keys with issued = reserved = the persisted bound), or from nothing. */
  constructor(spec: RotationSpec<K>, loaded?: { readonly keys: K[]; readonly sequence: number }) {
    this.#spec = spec;
    this.#keys = loaded?.keys ?? [];
    this.#sequence = loaded?.sequence ?? 0;
    this.#known = new Set(this.#keys.map((k) => k.id));
    this.#written = new Map(this.#keys.map((k) => [k.id, k.reserved]));
  }

  get keys(): readonly K[] {
    return this.#keys;
  }

  /** Grows by one each time the published set changes. */
  get sequence(): number {
    return this.#sequence;
  }

  /** The key that signs now, after any step that fell due (undefined once closed). */
  active(): K | undefined {
    if (this.#spec.clock.now() >= this.#nextDue) this.reconcile();
    return this.#keys.find((k) => k.state === 'active');
  }

  /** Records that `k` signs something valid until `until`, persisting a bound past it first when needed. */
  record(k: K, until: number): void {
    if (until > k.reserved) {
      k.reserved = Math.min(k.notAfter, until + this.#spec.signedTtlMs);
      this.#persist();
    }
    k.issued = Math.max(k.issued, until);
  }

  /**
   * From now on a prepared key activates only a publish lead after confirmPublished() named it (replicas: after the
   * shared datastore took it, so a key a peer cannot see yet never signs). Unconfirmed, it activates only when the
   * active key could no longer sign anything for a full lifetime (its notAfter minus the signed TTL), the last
   * resort: signing must go on, and what is signed must not be cut ever shorter toward the active key's end (an
   * SVID renewed at half its life would be renewed ever sooner).
   */
  requirePublication(): void {
    this.#confirmed ??= new Map();
  }

  /** These keys are visible to every relying party from now on; an activation waiting for them is scheduled. */
  confirmPublished(ids: Iterable<string>): void {
    if (!this.#confirmed) return;
    let fresh = false;
    for (const id of ids) {
      if (this.#confirmed.has(id)) continue;
      this.#confirmed.set(id, this.#spec.clock.now());
      fresh = true;
    }
    for (const id of this.#confirmed.keys()) if (!this.#keys.some((k) => k.id === id)) this.#confirmed.delete(id);
    if (fresh) this.reconcile();
  }

  #publishedAt(k: K): number {
    return this.#confirmed ? (this.#confirmed.get(k.id) ?? Infinity) : this.#spec.publishedAt(k);
  }

  /** When `prepared` takes over from `active`: on schedule; unconfirmed, the last resort (requirePublication). */
  #activationTime(active: K, prepared: K): number {
    const { signedTtlMs } = this.#spec;
    const publishedAt = this.#publishedAt(prepared);
    return publishedAt === Infinity ? Math.max(active.notAfter - signedTtlMs, activationDue(active, signedTtlMs)) : activationTime(active, publishedAt, signedTtlMs);
  }

  /** Rotates now: a new key is prepared and published (listeners see it first), then made active. */
  rotateNow(): void {
    this.reconcile();
    if (!this.#keys.some((k) => k.state === 'prepared')) {
      this.#keys.push(this.#spec.create('prepared'));
      this.#commit(true);
    }
    this.#activatePrepared();
    this.#commit(false);
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Brings the keys in line with the schedule at the clock's current time. */
  reconcile(): void {
    if (this.#closed) return;
    const { clock, logger, words, signedTtlMs } = this.#spec;
    const now = clock.now();
    const before = this.#spec.fingerprint(this.#keys);
    let changed = false;
    this.#absorbRecorded();

    for (const k of [...this.#keys]) {
      // Nothing signed outlives its key's notAfter, so an expired key verifies nothing any more, whatever its state.
      if (!(k.notAfter <= now || (k.state === 'old' && k.issued <= now))) continue;
      this.#keys = this.#keys.filter((x) => x !== k);
      changed = true;
      logger.info({ [words.field]: k.id, state: k.state }, `${words.key} removed from the bundle`);
    }

    if (!this.#keys.some((k) => k.state === 'active')) {
      if (this.#keys.some((k) => k.state === 'prepared')) {
        logger.warn({}, `no valid active ${words.journal}: activating the prepared one ahead of schedule`);
        this.#activatePrepared();
      } else {
        // First start, or a restart after the key expired: nothing trusts us yet, so there is nothing to precede.
        this.#keys.push(this.#spec.create('active'));
      }
      changed = true;
    }

    const active = this.#keys.find((k) => k.state === 'active')!;
    const prepared = this.#keys.find((k) => k.state === 'prepared');
    if (!prepared) {
      if (now >= preparationDue(active, signedTtlMs)) {
        this.#keys.push(this.#spec.create('prepared'));
        changed = true;
      }
    } else if (now >= this.#activationTime(active, prepared)) {
      this.#activatePrepared();
      changed = true;
    }

    if (changed) this.#commit(before !== this.#spec.fingerprint(this.#keys));
    this.#schedule();
  }

  #activatePrepared(): void {
    const prepared = this.#keys.find((k) => k.state === 'prepared');
    if (!prepared) return;
    for (const k of this.#keys) {
      if (k.state !== 'active') continue;
      k.state = 'old';
      k.signer = undefined;
      // From here on it signs nothing, so what it issued is final.
      k.reserved = k.issued;
    }
    prepared.state = 'active';
    this.#spec.logger.info({ [this.#spec.words.field]: prepared.id }, `${this.#spec.words.key} activated`);
  }

  /** Persists the journal, deletes keys and files no longer needed, and tells the caller. */
  #commit(publishedChanged: boolean): void {
    if (publishedChanged) this.#sequence++;
    this.#persist();
    const live = new Set(this.#keys.map((k) => k.id));
    for (const id of this.#known) if (!live.has(id)) this.#spec.forget(id);
    for (const k of this.#keys) if (k.state === 'old') this.#spec.retire(k.id);
    this.#known = live;
    this.#spec.committed(publishedChanged);
  }

  /**
   * Another process on this data directory may have signed with a key and raised its bound in the journal: what it
   * signed counts as issued here too, so the key stays published until then.
   */
  #absorbRecorded(): void {
    const recorded = this.#spec.recorded?.();
    if (!recorded) return;
    for (const [id, issuedUntil] of recorded) {
      if (issuedUntil <= (this.#written.get(id) ?? 0)) continue;
      const k = this.#keys.find((x) => x.id === id);
      if (!k) continue;
      k.issued = Math.max(k.issued, issuedUntil);
      k.reserved = Math.max(k.reserved, issuedUntil);
    }
  }

  #persist(): void {
    // Never lower a bound another process wrote: what it signed must stay verifiable until it expires.
    this.#absorbRecorded();
    this.#spec.write(this.#keys, this.#sequence);
    this.#written = new Map(this.#keys.map((k) => [k.id, k.reserved]));
  }

  #schedule(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#closed) return;
    const { clock, signedTtlMs } = this.#spec;
    const active = this.#keys.find((k) => k.state === 'active')!;
    const prepared = this.#keys.find((k) => k.state === 'prepared');
    const due = [active.notAfter, prepared ? this.#activationTime(active, prepared) : preparationDue(active, signedTtlMs)];
    for (const k of this.#keys) if (k.state === 'old') due.push(Math.min(k.issued, k.notAfter));
    this.#nextDue = Math.min(...due);
    this.#timer = clock.setTimer(Math.max(0, this.#nextDue - clock.now()), () => this.#scheduledReconcile());
  }

  // A timer's exception would end the process at rotation time: a failed step (a full disk, a listener that
  // threw) is logged and tried again soon, while the current keys keep signing.
  #scheduledReconcile(): void {
    try {
      this.reconcile();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      this.#spec.logger.warn({ code: typeof code === 'string' ? code : undefined, error: (err as Error).message, retryInMs: RECONCILE_RETRY_MS }, `${this.#spec.words.journal} rotation step failed; retrying`);
      this.#timer?.cancel();
      if (!this.#closed) this.#timer = this.#spec.clock.setTimer(RECONCILE_RETRY_MS, () => this.#scheduledReconcile());
    }
  }
}
