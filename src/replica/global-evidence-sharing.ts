// How a replica shares its traffic evidence and reads everyone else's: with each heartbeat it writes its buckets
// (only when they changed since its last write: time passing alone changes nothing a reader cannot work out), then
// reads every summary written within the last window into the global view (global-evidence.ts). The leader also
// deletes summaries too old to matter, at most once a bucket.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Datastore } from '../datastore/index.js';
import { decodeEvidenceBuckets, retentionMs, type GlobalEvidence, type LocalEvidence, type SharedEvidence } from './global-evidence.js';

export interface EvidenceSharingOptions {
  readonly datastore: Datastore;
  readonly clock: Clock;
  readonly replica: string;
  readonly local: LocalEvidence;
  readonly global: GlobalEvidence;
  readonly onError: (message: string) => void;
  /** Others' evidence is read at most this often (the heartbeat interval): heartbeats written on news skip it. */
  readonly refreshMs?: number;
}

export class EvidenceSharing {
  readonly #o: EvidenceSharingOptions;
  /** This process's rows: a restart writes beside what the previous process shared, never over it. */
  readonly incarnation = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  #dirty = true;
  #prunedAt = -Infinity;
  #readAt = -Infinity;
  readonly #off: () => void;

  constructor(o: EvidenceSharingOptions) {
    this.#o = o;
    this.#off = o.local.onChange(() => (this.#dirty = true));
  }

  get #retention(): number {
    return retentionMs(this.#o.local.windowMs, this.#o.local.bucketMs);
  }

  /** Writes this replica's buckets if they changed since the last write. */
  async publish(): Promise<void> {
    if (!this.#dirty) return;
    this.#dirty = false;
    try {
      const summary = this.#o.local.exportBuckets() as unknown as Record<string, unknown>;
      await this.#o.datastore.putEvidence({ replica: this.#o.replica, incarnation: this.incarnation, writtenAt: this.#o.clock.now(), summary });
    } catch (err) {
      this.#dirty = true;
      this.#o.onError(`sharing traffic evidence failed: ${(err as Error).message}; retrying with the next heartbeat`);
    }
  }

  /** Reads every other summary still in the window into the global view; prune: also delete the older ones. */
  async refresh(o: { prune?: boolean } = {}): Promise<void> {
    const now = this.#o.clock.now();
    if (now - this.#readAt < (this.#o.refreshMs ?? 0)) return;
    this.#readAt = now;
    try {
      if (o.prune && now - this.#prunedAt >= this.#o.local.bucketMs) {
        this.#prunedAt = now;
        await this.#o.datastore.pruneEvidence(now - this.#retention);
      }
      const rows = await this.#o.datastore.evidence(now - this.#retention);
      const shared: SharedEvidence[] = [];
      for (const r of rows) {
        if (r.replica === this.#o.replica && r.incarnation === this.incarnation) continue; // ours: the live buckets stand in
        try {
          shared.push({ replica: r.replica, incarnation: r.incarnation, writtenAt: r.writtenAt, buckets: decodeEvidenceBuckets(r.summary) });
        } catch (err) {
          // Leaving one replica's evidence out could release a held port: keep the last good read instead.
          this.#o.onError(`traffic evidence shared by replica ${r.replica} cannot be read (${(err as Error).message}); the last good read stands`);
          return;
        }
      }
      this.#o.global.setShared(shared);
    } catch (err) {
      this.#o.onError(`reading the shared traffic evidence failed: ${(err as Error).message}; the last read stands`);
    }
  }

  close(): void {
    this.#off();
  }
}
