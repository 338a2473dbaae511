// Keeps an X.509-SVID fresh in the identity store for every declared SPIFFE ID: minted at once, renewed at about
// half its lifetime (jittered so a fleet's renewals spread out), retried with backoff on failure; and keeps the
// store's copy of the CA bundle current.
import type { Clock, TimerHandle } from '../clock.js';
import { systemClock } from '../clock.js';
import type { X509Bundle } from '../spiffe/bundle.js';
import type { SpiffeId } from '../spiffe/id.js';
import type { IdentityStore, X509SvidRecord } from '../store/identity-store.js';
import type { CaLogger } from './certificate-authority.js';

/** What the manager needs from a CA (CertificateAuthority implements it). */
export interface SvidIssuer {
  mintX509Svid(spiffeId: SpiffeId): X509SvidRecord;
  bundle(): X509Bundle;
  onBundleChange(listener: (bundle: X509Bundle) => void): () => void;
}

export interface RenewalEvent {
  readonly spiffeId: string;
  readonly result: 'ok' | 'error';
  /** The new SVID's notAfter, when result is ok. */
  readonly notAfter?: Date;
  /** When result is error: the error's stable code, if it has one. */
  readonly code?: string;
}

export interface SvidManagerOptions {
  readonly ca: SvidIssuer;
  readonly store: IdentityStore;
  readonly clock?: Clock;
  /** Uniform in [0, 1); injectable so tests can pin the jitter. */
  readonly random?: () => number;
  /** Renewal happens at (0.5 ± jitter) of the lifetime; default 0.1. */
  readonly jitter?: number;
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  readonly onRenewal?: (event: RenewalEvent) => void;
  readonly logger?: CaLogger;
}

interface Entry {
  readonly spiffeId: SpiffeId;
  timer: TimerHandle | undefined;
  failures: number;
}

export class SvidManager {
  readonly #ca: SvidIssuer;
  readonly #store: IdentityStore;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #jitter: number;
  readonly #retryInitialMs: number;
  readonly #retryMaxMs: number;
  readonly #onRenewal: ((event: RenewalEvent) => void) | undefined;
  readonly #logger: CaLogger | undefined;
  readonly #entries = new Map<string, Entry>();
  readonly #unsubscribe: () => void;

  /** Publishes the CA's bundle into the store at once and on every change. */
  constructor(opts: SvidManagerOptions) {
    this.#ca = opts.ca;
    this.#store = opts.store;
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? Math.random;
    this.#jitter = opts.jitter ?? 0.1;
    this.#retryInitialMs = opts.retryInitialMs ?? 1000;
    this.#retryMaxMs = opts.retryMaxMs ?? 60_000;
    this.#onRenewal = opts.onRenewal;
    this.#logger = opts.logger;
    if (!(this.#jitter >= 0 && this.#jitter < 0.5)) throw new RangeError(`jitter must be in [0, 0.5), got ${this.#jitter}`);
    this.#unsubscribe = this.#ca.onBundleChange((bundle) => this.#store.setBundle(bundle));
    this.#store.setBundle(this.#ca.bundle());
  }

  /** The SPIFFE IDs kept fresh, sorted. */
  identities(): string[] {
    return [...this.#entries.keys()].sort();
  }

  /** Replaces the set of identities: new ones are minted now, dropped ones leave the store. */
  setIdentities(ids: readonly SpiffeId[]): void {
    const wanted = new Map(ids.map((id) => [id.toString(), id]));
    this.#store.batch(() => {
      for (const [name, entry] of this.#entries) {
        if (wanted.has(name)) continue;
        entry.timer?.cancel();
        this.#entries.delete(name);
        this.#store.removeSvid(name);
      }
      for (const [name, spiffeId] of wanted) {
        if (this.#entries.has(name)) continue;
        const entry: Entry = { spiffeId, timer: undefined, failures: 0 };
        this.#entries.set(name, entry);
        this.#renew(entry);
      }
    });
  }

  /** Stops every timer and the bundle subscription; the store keeps what it holds. */
  close(): void {
    this.#unsubscribe();
    for (const e of this.#entries.values()) e.timer?.cancel();
    this.#entries.clear();
  }

  #renew(entry: Entry): void {
    const name = entry.spiffeId.toString();
    if (this.#entries.get(name) !== entry) return;
    let record: X509SvidRecord;
    try {
      record = this.#ca.mintX509Svid(entry.spiffeId);
    } catch (err) {
      entry.failures++;
      const delay = Math.min(this.#retryMaxMs, this.#retryInitialMs * 2 ** (entry.failures - 1));
      const code = (err as { code?: unknown }).code;
      this.#logger?.warn({ spiffeId: name, code, retryInMs: delay, error: (err as Error).message }, 'SVID renewal failed');
      this.#onRenewal?.({ spiffeId: name, result: 'error', ...(typeof code === 'string' ? { code } : {}) });
      entry.timer = this.#clock.setTimer(delay, () => this.#renew(entry));
      return;
    }
    entry.failures = 0;
    // The next renewal is armed before anyone hears of this one: a store subscriber that throws must not leave
    // the identity without a timer.
    const lifetime = record.notAfter.getTime() - this.#clock.now();
    const fraction = 0.5 + this.#jitter * (2 * this.#random() - 1);
    // At least 1 ms: an SVID cut short by its CA's end (nothing to take over yet) is renewed ever sooner, and a
    // zero delay would renew it again at the same instant, for ever (with a manual clock, or within one millisecond).
    entry.timer = this.#clock.setTimer(Math.max(1, Math.floor(lifetime * fraction)), () => this.#renew(entry));
    try {
      this.#store.setSvid(record);
    } catch (err) {
      this.#logger?.warn({ spiffeId: name, error: (err as Error).message }, 'a subscriber of the identity store failed on a renewed SVID');
    }
    this.#onRenewal?.({ spiffeId: name, result: 'ok', notAfter: record.notAfter });
  }
}
