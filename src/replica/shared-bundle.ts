// SPIRE's way for several servers of one trust domain: each replica signs with an authority of its own (its own
// CA in its own data directory; its key never leaves it) and publishes the authority's certificate into the shared
// datastore; every replica serves the union as the trust domain's bundle. A new replica is trusted once its first
// publish is seen (before it signs anything a peer must verify: it publishes at start, before serving). A dead
// replica's authority stays until its certificate expires — SVIDs it signed may still be in use until then — and
// is removed by whichever replica sees it expired.
import type { X509Certificate } from 'node:crypto';
import { X509Certificate as Cert } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock.js';
import type { AuthorityRow, AuthorityState, Datastore, JwtAuthorityRow } from '../datastore/index.js';
import { jwtAuthorityOf, type JwtAuthority } from '../spiffe/jwt-authority.js';
import { X509Bundle } from '../spiffe/bundle.js';
import { publishJwtKeys, remoteJwtKeys, type LocalJwtKey } from './shared-jwt-keys.js';

/** What the embedded CA offers to the SVID manager: its bundle and the news of its changes. */
export interface BundleSource {
  bundle(): X509Bundle;
  onBundleChange(listener: (bundle: X509Bundle) => void): () => void;
  status(): readonly { id: string; state: AuthorityState; certificate: X509Certificate; notAfter: Date }[];
  /** The JWT-SVID keys' journal (their public keys are in bundle().jwtAuthorities); none without JWT keys. */
  jwtStatus?(): readonly LocalJwtKey[];
  /** Told which JWT keys the datastore now holds: a prepared one may sign a publish lead later. */
  jwtPublished?(keyIds: ReadonlySet<string>): void;
  /** Told which X.509 authorities (by id) the datastore now holds: the same rule as for JWT keys. */
  authoritiesPublished?(ids: ReadonlySet<string>): void;
}

export const DEFAULT_AUTHORITY_POLL_MS = 10_000;

/**
 * A BundleSource whose bundle is the local CA's plus every other replica's published authorities. Publishes the
 * local CA's authorities on start and on each change.
 */
export class SharedBundle implements BundleSource {
  readonly #local: BundleSource;
  readonly #ds: Datastore;
  readonly #clock: Clock;
  readonly #replica: string;
  readonly #onError: (message: string) => void;
  readonly #listeners = new Set<(bundle: X509Bundle) => void>();
  #remote: X509Certificate[] = [];
  #remoteJwt: JwtAuthority[] = [];
  #publishedJwt: ReadonlySet<string> = new Set();
  #publishedX509: ReadonlySet<string> = new Set();
  #publishing: Promise<void> | undefined;
  #publishAgain = false;
  #bundle: X509Bundle;
  #offLocal: (() => void) | undefined;
  #offWatch: (() => void) | undefined;
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(o: { local: BundleSource; datastore: Datastore; clock: Clock; replica: string; onError: (message: string) => void }) {
    this.#local = o.local;
    this.#ds = o.datastore;
    this.#clock = o.clock;
    this.#replica = o.replica;
    this.#onError = o.onError;
    this.#bundle = o.local.bundle();
  }

  async start(pollMs = DEFAULT_AUTHORITY_POLL_MS): Promise<void> {
    await this.#publish();
    this.#offLocal = this.#local.onBundleChange(() => {
      this.#recompute();
      void this.#publish().catch((e: unknown) => this.#onError(`publishing this replica's authorities failed: ${(e as Error).message}`));
    });
    this.#offWatch = await this.#ds.watch('authorities', () => void this.refresh());
    await this.refresh();
    const arm = (): void => {
      if (this.#closed) return;
      this.#timer = this.#clock.setTimer(pollMs, () => void this.refresh().finally(arm));
    };
    arm();
  }

  bundle(): X509Bundle {
    return this.#bundle;
  }

  onBundleChange(listener: (bundle: X509Bundle) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  status(): ReturnType<BundleSource['status']> {
    return this.#local.status();
  }

  /** Reads the other replicas' authorities; drops expired ones from the datastore. */
  async refresh(): Promise<void> {
    let rows: AuthorityRow[];
    let jwtRows: JwtAuthorityRow[];
    try {
      [rows, jwtRows] = await Promise.all([this.#ds.authorities(), this.#ds.jwtAuthorities()]);
    } catch (err) {
      this.#onError(`reading the shared bundle failed: ${(err as Error).message}; the last one read keeps serving`);
      return;
    }
    const now = this.#clock.now();
    const remote: X509Certificate[] = [];
    for (const r of rows) {
      if (r.notAfter <= now) {
        await this.#ds.removeAuthority(r.id).catch(() => {});
        continue;
      }
      if (r.replica === this.#replica) continue;
      try {
        remote.push(new Cert(r.certificatePem));
      } catch {
        this.#onError(`authority ${r.id} of replica ${r.replica} in the datastore is not a certificate; left out`);
      }
    }
    this.#remote = remote;
    this.#remoteJwt = (await remoteJwtKeys(this.#ds, jwtRows, this.#replica, now)).map((r) => jwtAuthorityOf(r.keyId, r.publicKey));
    this.#recompute();
    // A key whose publish failed (the datastore was down) may not sign: publish it again now that reads work.
    const unpublished = this.#local.bundle().jwtAuthorities.some((j) => !this.#publishedJwt.has(j.keyId)) || this.#local.status().some((a) => !this.#publishedX509.has(a.id));
    if (!this.#publishing && unpublished) {
      await this.#publish().catch((e: unknown) => this.#onError(`publishing this replica's authorities failed: ${(e as Error).message}`));
    }
  }

  /** One publish at a time; a request while one runs makes one more run after it (never a pile of them). */
  #publish(): Promise<void> {
    this.#publishAgain = true;
    this.#publishing ??= (async () => {
      try {
        while (this.#publishAgain) {
          this.#publishAgain = false;
          await this.#publishOnce();
        }
      } finally {
        this.#publishing = undefined;
      }
    })();
    return this.#publishing;
  }

  async #publishOnce(): Promise<void> {
    const published = new Set<string>();
    for (const a of this.#local.status()) {
      await this.#ds.putAuthority({ id: a.id, replica: this.#replica, certificatePem: a.certificate.toString(), notAfter: a.notAfter.getTime(), state: a.state });
      published.add(a.id);
    }
    this.#publishedX509 = published;
    this.#local.authoritiesPublished?.(published);
    this.#publishedJwt = await publishJwtKeys(this.#ds, this.#replica, this.#local.bundle().jwtAuthorities, this.#local.jwtStatus?.() ?? [], this.#publishedJwt);
    this.#local.jwtPublished?.(this.#publishedJwt);
  }

  #recompute(): void {
    const local = this.#local.bundle();
    // Each replica signs JWT-SVIDs with keys of its own too; every replica's public keys are in the bundle.
    const kids = new Set(local.jwtAuthorities.map((j) => j.keyId));
    const next = new X509Bundle(local.trustDomain, [...local.x509Authorities, ...this.#remote], {
      jwtAuthorities: [...local.jwtAuthorities, ...this.#remoteJwt.filter((j) => !kids.has(j.keyId))],
      ...(local.sequence !== undefined ? { sequence: local.sequence } : {}),
      ...(local.refreshHintSeconds !== undefined ? { refreshHintSeconds: local.refreshHintSeconds } : {}),
    });
    const same =
      next.x509Authorities.length === this.#bundle.x509Authorities.length &&
      next.x509Authorities.every((c, i) => c.raw.equals(this.#bundle.x509Authorities[i]!.raw)) &&
      next.jwtAuthorities.length === this.#bundle.jwtAuthorities.length &&
      next.jwtAuthorities.every((a, i) => a.keyId === this.#bundle.jwtAuthorities[i]!.keyId);
    this.#bundle = next;
    if (same) return;
    for (const l of [...this.#listeners]) l(next);
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#offLocal?.();
    this.#offWatch?.();
  }
}
