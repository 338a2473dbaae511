// The spiffe-helper role: keeps each selected identity's X.509-SVID, key and trust bundle on disk, for workloads
// that load certificates from files (proxyless gRPC's file_watcher certificate provider, servers without SDS).
//
// Driven by the identity store: every SVID renewal or bundle change the store announces is written at once, so
// the files are as fresh as the SvidManager keeps the store (renewal at about half the lifetime). Each file is
// replaced atomically (temp file + rename: a reader sees the old or the new file, never a torn one); the key's
// temp file is created 0600, so no other user can read a key even for an instant. The three files are three
// renames: a reader that opens them at the very moment of a renewal can pair a new certificate with an old key,
// and must read again (gRPC's file_watcher does, every refresh_interval). Files of an identity that leaves the
// store are kept: the workload may still use them until they expire (spiffe-helper never deletes either).
import { writeFileAtomic, ensurePrivateDir } from '../ca/atomic-file.js';
import { certificatesToPem } from '../spiffe/pem.js';
import { SpiffeId } from '../spiffe/id.js';
import type { IdentityStore, StoreChange, X509SvidRecord } from '../store/identity-store.js';
import { runAfterWrite, type AfterWrite } from './after-write.js';
import { svidFilePaths, type SvidFilePaths } from './layout.js';

export interface SvidFilesLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SvidFilesConfig {
  /** Root directory; each identity gets `<dir>/<trust domain><path>/` (see layout.ts). */
  readonly dir: string;
  /** Which identities are written; default: every SVID in the store. Re-read on every change. */
  readonly selects?: (spiffeId: string) => boolean;
  /**
   * Also put every federated trust domain's bundle into svid_bundle.pem after the identity's own (spiffe-helper's
   * include_federated_domains). Off by default: one PEM pool cannot say which CA may vouch for which trust
   * domain, so a federated CA would be trusted for this domain's IDs too, checked only by SAN matchers and RBAC.
   */
  readonly includeFederated?: boolean;
  readonly afterWrite?: AfterWrite;
}

export interface SvidFilesWrite {
  readonly spiffeId: string;
  readonly paths: SvidFilePaths;
  /** Which of the three files changed in this write. */
  readonly files: readonly ('certificate' | 'key' | 'bundle')[];
}

interface Written {
  certificate?: string;
  key?: string;
  bundle?: string;
}

const quiet: SvidFilesLogger = { info() {}, warn() {} };

export class SvidFileWriter {
  readonly #store: IdentityStore;
  readonly #config: SvidFilesConfig;
  readonly #log: SvidFilesLogger;
  readonly #onWrite: ((w: SvidFilesWrite) => void) | undefined;
  readonly #written = new Map<string, Written>();
  #unsubscribe: (() => void) | undefined;

  constructor(opts: { store: IdentityStore; config: SvidFilesConfig; logger?: SvidFilesLogger; onWrite?: (w: SvidFilesWrite) => void }) {
    this.#store = opts.store;
    this.#config = opts.config;
    this.#log = opts.logger ?? quiet;
    this.#onWrite = opts.onWrite;
  }

  /** Writes every selected identity the store holds now, then follows the store's changes until close(). */
  start(): this {
    this.#unsubscribe ??= this.#store.subscribe((c) => this.#changed(c));
    this.sync();
    return this;
  }

  /** Writes whatever differs from the files (e.g. after the selection changed); returns what was written. */
  sync(): SvidFilesWrite[] {
    return this.#store.svids().flatMap((r) => this.#write(r));
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #changed(change: StoreChange): void {
    // A bundle change concerns every identity (its own domain's bundle, or a federated one in its pool).
    const ids = change.bundles.length ? this.#store.svids().map((r) => r.spiffeId) : change.svids;
    for (const id of ids) {
      const record = this.#store.getSvid(id);
      if (record) this.#write(record);
    }
  }

  #bundlePem(spiffeId: SpiffeId): string | undefined {
    const own = this.#store.getBundle(spiffeId.trustDomain.name);
    if (!own) return undefined;
    const others = this.#config.includeFederated ? this.#store.bundles().filter((b) => b.trustDomain.name !== own.trustDomain.name) : [];
    return [own, ...others].map((b) => b.toPem()).join('');
  }

  #write(record: X509SvidRecord): SvidFilesWrite[] {
    if (this.#config.selects && !this.#config.selects(record.spiffeId)) return [];
    const spiffeId = SpiffeId.parse(record.spiffeId);
    const paths = svidFilePaths(this.#config.dir, spiffeId);
    const seen = this.#written.get(record.spiffeId) ?? {};
    const next: Written = { certificate: certificatesToPem(record.chain), key: record.privateKeyPem, bundle: this.#bundlePem(spiffeId) ?? seen.bundle };
    const files: SvidFilesWrite['files'][number][] = [];
    const done: Written = { ...seen };
    try {
      ensurePrivateDir(paths.dir);
      // Bundle first: when a renewal and a CA rotation arrive together, the new anchors are on disk before anything
      // signed by them is.
      if (next.bundle !== undefined && next.bundle !== seen.bundle) {
        writeFileAtomic(paths.bundleFile, next.bundle, 0o644);
        done.bundle = next.bundle;
        files.push('bundle');
      }
      if (next.certificate !== seen.certificate) {
        writeFileAtomic(paths.certificateFile, next.certificate!, 0o644);
        done.certificate = next.certificate;
        files.push('certificate');
      }
      if (next.key !== seen.key) {
        writeFileAtomic(paths.privateKeyFile, next.key!, 0o600);
        done.key = next.key;
        files.push('key');
      }
    } catch (err) {
      // Never the key material: only where and why. What was written is remembered; the rest is retried next change.
      this.#log.warn({ spiffeId: record.spiffeId, dir: paths.dir, code: (err as NodeJS.ErrnoException).code, error: (err as Error).message }, 'SVID files could not be written');
      this.#written.set(record.spiffeId, done);
      return [];
    }
    this.#written.set(record.spiffeId, done);
    if (!files.length) return [];
    if (next.bundle === undefined) this.#log.warn({ spiffeId: record.spiffeId, trustDomain: spiffeId.trustDomain.name }, 'no trust bundle yet: svid_bundle.pem not written');
    this.#log.info({ spiffeId: record.spiffeId, dir: paths.dir, files, serial: record.serial, notAfter: record.notAfter.toISOString() }, 'SVID files written');
    const w: SvidFilesWrite = { spiffeId: record.spiffeId, paths, files };
    if (this.#config.afterWrite) runAfterWrite(this.#config.afterWrite, record.spiffeId, paths.dir, this.#log);
    this.#onWrite?.(w);
    return [w];
  }
}
