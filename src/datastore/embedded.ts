// The embedded datastore: files in <dataDir>/datastore, for one `trustplane serve` and the CLI commands beside it.
// Files rather than SQLite because the rest of the data directory is already files with 0600/0700 modes, one server
// owns a data directory at a time, and a native module would make `npm ci` build C++ on every machine.
//
// Every write takes a lock file (O_EXCL create), re-reads the state, changes it and replaces it atomically, so the
// CLI (`token create`, `apply`) and the server never lose each other's writes. Proxy status is kept in memory: with
// one server there is nobody to share it with, and it must not outlive the streams it describes.
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, writeFileAtomic } from '../ca/atomic-file.js';
import {
  checkNewRevision,
  DATASTORE_LIMITS,
  DatastoreError,
  type AuthorityRow,
  type ConsumeResult,
  type Datastore,
  type DatastoreChannel,
  type EvidenceRow,
  type JoinTokenRow,
  type Lease,
  type JwtAuthorityRow,
  type MeshRevision,
  type MeshRevisionSummary,
  type NewMeshRevision,
  type NodeSvidRow,
  type ProxyRow,
  type ProxyView,
  type ReplicaView,
  type RolloutDecision,
} from './datastore.js';
import { Notifier } from './notifier.js';

export const EMBEDDED_STATE_VERSION = 1;
/** A lock older than this belongs to a process that died holding it. */
const STALE_LOCK_MS = 10_000;
const LOCK_WAIT_MS = 5_000;

interface TokenState extends Omit<JoinTokenRow, 'hash'> {
  usedAt?: number;
}

interface State {
  version: number;
  joinTokens: Record<string, TokenState>;
  revisions: MeshRevisionSummary[];
  authorities: Record<string, AuthorityRow>;
  /** Absent in files written before JWT authorities were shared. */
  jwtAuthorities?: Record<string, JwtAuthorityRow>;
  bundleSequence: number;
  nodeSvids: NodeSvidRow[];
  leases: Record<string, Lease>;
  decisions: RolloutDecision[];
}

const empty = (): State => ({ version: EMBEDDED_STATE_VERSION, joinTokens: {}, revisions: [], authorities: {}, bundleSequence: 0, nodeSvids: [], leases: {}, decisions: [] });

export class EmbeddedDatastore implements Datastore {
  readonly kind = 'embedded';
  readonly dir: string;
  readonly #notifier: Notifier;
  readonly #unwatch = new Set<() => void>();
  readonly #replicas = new Map<string, { at: number; proxies: readonly ProxyRow[]; info: Readonly<Record<string, unknown>> }>();
  /** Like proxy status, in memory: one server shares its evidence with nobody. */
  readonly #evidence = new Map<string, EvidenceRow>();

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'datastore');
    this.#notifier = Notifier.shared(this.dir);
    ensurePrivateDir(this.dir);
    ensurePrivateDir(join(this.dir, 'revisions'));
    this.#read();
  }

  get #stateFile(): string {
    return join(this.dir, 'state.json');
  }

  async schemaVersion(): Promise<number> {
    return this.#read().version;
  }

  async createJoinToken(row: JoinTokenRow): Promise<void> {
    this.#write((s) => {
      if (s.joinTokens[row.hash]) throw new DatastoreError('DATASTORE_INPUT_INVALID', 'a join token with this hash already exists');
      s.joinTokens[row.hash] = { node: row.node, createdAt: row.createdAt, expiresAt: row.expiresAt };
    });
  }

  async consumeJoinToken(hash: string, now: number): Promise<ConsumeResult> {
    return this.#write((s): ConsumeResult => {
      const t = s.joinTokens[hash];
      if (!t) return { ok: false, reason: 'unknown' };
      if (now >= t.expiresAt) return { ok: false, reason: 'expired', node: t.node, expiresAt: t.expiresAt };
      if (t.usedAt !== undefined) return { ok: false, reason: 'used', node: t.node };
      t.usedAt = now;
      return { ok: true, node: t.node };
    });
  }

  async restoreJoinToken(hash: string): Promise<void> {
    this.#write((s) => {
      const t = s.joinTokens[hash];
      if (t) delete t.usedAt;
    });
  }

  async pruneJoinTokens(now: number): Promise<number> {
    return this.#write((s) => {
      let n = 0;
      for (const [h, t] of Object.entries(s.joinTokens)) {
        if (now >= t.expiresAt) {
          delete s.joinTokens[h];
          n++;
        }
      }
      return n;
    });
  }

  async appendMeshRevision(rev: NewMeshRevision): Promise<{ revision: MeshRevision; created: boolean }> {
    checkNewRevision(rev);
    const out = this.#write((s) => {
      const latest = s.revisions.at(-1);
      if (latest && latest.digest === rev.digest) return { summary: latest, created: false };
      const summary: MeshRevisionSummary = {
        revision: (latest?.revision ?? 0) + 1,
        digest: rev.digest,
        appliedBy: rev.appliedBy,
        appliedAt: rev.appliedAt,
        ...(rev.rollbackOf !== undefined ? { rollbackOf: rev.rollbackOf } : {}),
      };
      // The source is written before the state names it: a crash in between leaves an orphan file, never a
      // revision without its source.
      writeFileAtomic(this.#revisionFile(summary.revision), rev.source);
      s.revisions.push(summary);
      if (s.revisions.length > DATASTORE_LIMITS.maxHistory) {
        for (const old of s.revisions.splice(0, s.revisions.length - DATASTORE_LIMITS.maxHistory)) rmSync(this.#revisionFile(old.revision), { force: true });
      }
      return { summary, created: true };
    });
    if (out.created) this.#notifier.emit('mesh', String(out.summary.revision));
    return { revision: { ...out.summary, source: out.created ? rev.source : this.#source(out.summary.revision) }, created: out.created };
  }

  async meshRevision(revision?: number): Promise<MeshRevision | undefined> {
    const s = this.#read();
    const summary = revision === undefined ? s.revisions.at(-1) : s.revisions.find((r) => r.revision === revision);
    return summary ? { ...summary, source: this.#source(summary.revision) } : undefined;
  }

  async meshHistory(limit: number): Promise<MeshRevisionSummary[]> {
    return this.#read().revisions.slice(-Math.max(0, limit)).reverse();
  }

  async putAuthority(row: AuthorityRow): Promise<void> {
    this.#write((s) => {
      s.authorities[row.id] = { ...row };
    });
    this.#notifier.emit('authorities', row.id);
  }

  async removeAuthority(id: string): Promise<void> {
    this.#write((s) => {
      delete s.authorities[id];
    });
    this.#notifier.emit('authorities', id);
  }

  async authorities(): Promise<AuthorityRow[]> {
    return Object.values(this.#read().authorities).sort((a, b) => a.id.localeCompare(b.id));
  }

  async putJwtAuthority(row: JwtAuthorityRow): Promise<void> {
    this.#write((s) => {
      (s.jwtAuthorities ??= {})[row.keyId] = { ...row, publicKey: { ...row.publicKey } };
    });
    this.#notifier.emit('authorities', row.keyId);
  }

  async removeJwtAuthority(keyId: string): Promise<void> {
    this.#write((s) => {
      if (s.jwtAuthorities) delete s.jwtAuthorities[keyId];
    });
    this.#notifier.emit('authorities', keyId);
  }

  async jwtAuthorities(): Promise<JwtAuthorityRow[]> {
    return Object.values(this.#read().jwtAuthorities ?? {}).sort((a, b) => a.keyId.localeCompare(b.keyId));
  }

  async nextBundleSequence(): Promise<number> {
    return this.#write((s) => ++s.bundleSequence);
  }

  async recordNodeSvid(row: NodeSvidRow): Promise<void> {
    this.#write((s) => {
      s.nodeSvids = s.nodeSvids.filter((r) => r.serial !== row.serial && r.notAfter > row.issuedAt);
      s.nodeSvids.push({ ...row });
    });
  }

  async nodeSvids(node: string): Promise<NodeSvidRow[]> {
    return this.#read().nodeSvids.filter((r) => r.node === node);
  }

  async heartbeat(replica: string, now: number, proxies: readonly ProxyRow[], info: Readonly<Record<string, unknown>> = {}, o: { readonly notify?: boolean } = {}): Promise<void> {
    this.#replicas.set(replica, { at: now, proxies: [...proxies], info: structuredClone(info) });
    if (o.notify) this.#notifier.emit('status', replica);
  }

  async putEvidence(row: EvidenceRow): Promise<void> {
    this.#evidence.set(`${row.replica}\u0000${row.incarnation}`, structuredClone(row));
  }

  async evidence(since: number): Promise<EvidenceRow[]> {
    return [...this.#evidence.values()]
      .filter((r) => r.writtenAt > since)
      .sort((a, b) => a.replica.localeCompare(b.replica) || a.incarnation.localeCompare(b.incarnation))
      .map((r) => structuredClone(r));
  }

  async pruneEvidence(before: number): Promise<number> {
    let n = 0;
    for (const [k, r] of this.#evidence) {
      if (r.writtenAt <= before) {
        this.#evidence.delete(k);
        n++;
      }
    }
    return n;
  }

  async proxies(now: number, timeoutMs: number): Promise<ProxyView[]> {
    const out: ProxyView[] = [];
    for (const [replica, r] of [...this.#replicas].sort(([a], [b]) => a.localeCompare(b))) {
      if (r.at > now - timeoutMs) for (const p of r.proxies) out.push({ ...p, replica, heartbeatAt: r.at });
    }
    return out;
  }

  async liveReplicas(now: number, timeoutMs: number): Promise<string[]> {
    return [...this.#replicas].filter(([, r]) => r.at > now - timeoutMs).map(([k]) => k).sort();
  }

  async replicas(now: number, timeoutMs: number): Promise<ReplicaView[]> {
    return [...this.#replicas]
      .filter(([, r]) => r.at > now - timeoutMs)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([replica, r]) => ({ replica, heartbeatAt: r.at, info: structuredClone(r.info) }));
  }

  async acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<{ held: boolean; lease: Lease }> {
    return this.#write((s) => {
      const cur = s.leases[name];
      if (cur && cur.holder !== holder && cur.expiresAt > now) return { held: false, lease: { ...cur } };
      const lease: Lease = { name, holder, fencingToken: cur ? cur.fencingToken + (cur.holder === holder ? 0 : 1) : 1, expiresAt: now + ttlMs };
      s.leases[name] = lease;
      return { held: true, lease: { ...lease } };
    });
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    this.#write((s) => {
      const cur = s.leases[name];
      // Expire it rather than delete it: the fencing token must keep growing.
      if (cur && cur.holder === holder) s.leases[name] = { ...cur, expiresAt: 0 };
    });
  }

  async recordRolloutDecision(lease: Lease, now: number, revision: number, decision: Record<string, unknown>): Promise<RolloutDecision> {
    const d = this.#write((s) => {
      const cur = s.leases[lease.name];
      if (!cur || cur.holder !== lease.holder || cur.fencingToken !== lease.fencingToken || cur.expiresAt <= now) {
        throw fenced(lease, cur);
      }
      const row: RolloutDecision = { seq: (s.decisions.at(-1)?.seq ?? 0) + 1, revision, fencingToken: lease.fencingToken, decidedAt: now, decision };
      s.decisions.push(row);
      // Decisions of revisions no longer in the history are of no use to anyone.
      const oldest = s.revisions[0]?.revision ?? 0;
      s.decisions = s.decisions.filter((x) => x.revision >= oldest);
      return row;
    });
    this.#notifier.emit('rollout', String(d.seq));
    return d;
  }

  async rolloutDecisions(revision: number): Promise<RolloutDecision[]> {
    return this.#read().decisions.filter((d) => d.revision === revision);
  }

  // Every handle on one directory in this process hears every other's writes; another process's writes (the CLI's
  // `apply`) are found by the caller's poll.
  async watch(channel: DatastoreChannel, listener: (payload: string) => void): Promise<() => void> {
    const off = this.#notifier.on(channel, listener);
    this.#unwatch.add(off);
    return () => {
      off();
      this.#unwatch.delete(off);
    };
  }

  async close(): Promise<void> {
    for (const off of this.#unwatch) off();
    this.#unwatch.clear();
  }

  #revisionFile(revision: number): string {
    return join(this.dir, 'revisions', `${revision}.yaml`);
  }

  #source(revision: number): string {
    try {
      return readFileSync(this.#revisionFile(revision), 'utf8');
    } catch (cause) {
      throw new DatastoreError('DATASTORE_CORRUPT', `${this.#revisionFile(revision)}: the source of mesh revision ${revision} is missing`, { cause });
    }
  }

  #read(): State {
    let text: string;
    try {
      text = readFileSync(this.#stateFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return empty();
      throw new DatastoreError('DATASTORE_UNAVAILABLE', `${this.#stateFile}: cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    let doc: State;
    try {
      doc = JSON.parse(text) as State;
    } catch {
      throw new DatastoreError('DATASTORE_CORRUPT', `${this.#stateFile}: not valid JSON (a manual edit?); restore it from a backup`);
    }
    if (typeof doc.version !== 'number') throw new DatastoreError('DATASTORE_CORRUPT', `${this.#stateFile}: no "version"`);
    if (doc.version > EMBEDDED_STATE_VERSION) {
      throw new DatastoreError('DATASTORE_SCHEMA_TOO_NEW', `${this.#stateFile}: written by a newer trustplane (version ${doc.version}; this one knows ${EMBEDDED_STATE_VERSION})`);
    }
    return { ...empty(), ...doc };
  }

  /** Runs fn on the current state under the lock and writes the state back if fn returns without throwing. */
  #write<T>(fn: (s: State) => T): T {
    const release = this.#lock();
    try {
      const s = this.#read();
      const out = fn(s);
      writeFileAtomic(this.#stateFile, JSON.stringify(s));
      return out;
    } finally {
      release();
    }
  }

  #lock(): () => void {
    const file = join(this.dir, 'state.lock');
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const fd = openSync(file, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return () => rmSync(file, { force: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new DatastoreError('DATASTORE_UNAVAILABLE', `${file}: cannot be created (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      if (staleLock(file)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new DatastoreError('DATASTORE_LOCKED', `${file} is held by pid ${readPid(file) ?? '?'} for more than ${LOCK_WAIT_MS / 1000} s`);
      // Writers hold the lock for a read-modify-write of one small file: a short synchronous wait is enough.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    }
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8'));
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function staleLock(file: string): boolean {
  if (!existsSync(file)) return false;
  const pid = readPid(file);
  if (pid !== undefined && pid !== process.pid && !alive(pid)) return true;
  try {
    return Date.now() - statSync(file).mtimeMs > STALE_LOCK_MS;
  } catch {
    return false;
  }
}

export function fenced(lease: Lease, cur: Lease | undefined): DatastoreError {
  const now = cur ? `${cur.holder} holds it with fencing token ${cur.fencingToken}` : 'nobody holds it';
  return new DatastoreError('DATASTORE_FENCED', `lease ${lease.name} of ${lease.holder} (fencing token ${lease.fencingToken}) is no longer held: ${now}; the decision was not recorded`);
}
