// The PostgreSQL datastore, shared by every replica. Single-use join tokens and fenced leadership come from single
// statements and row locks, not from anything a replica remembers; change notifications from LISTEN/NOTIFY, which
// a replica backs with a poll because a notification sent while its connection was down is lost.
import pg from 'pg';
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
  type ReplicaView,
  type MeshRevision,
  type MeshRevisionSummary,
  type NewMeshRevision,
  type NodeSvidRow,
  type ProxyRow,
  type ProxyView,
  type RolloutDecision,
} from './datastore.js';
import { fenced } from './embedded.js';
import { LATEST_SCHEMA, MIGRATION_LOCK_KEY, MIGRATIONS } from './migrations.js';
import { Notifier } from './notifier.js';

const CHANNELS: Record<DatastoreChannel, string> = { mesh: 'tp_mesh', authorities: 'tp_authorities', rollout: 'tp_rollout', status: 'tp_status' };
const LISTEN_RETRY_MS = 1_000;

export interface PostgresOptions {
  readonly url: string;
  /** Connections in the pool (default 4). */
  readonly poolSize?: number;
  /** Per-statement timeout (default 5 s): a stuck database fails a call instead of hanging it. */
  readonly statementTimeoutMs?: number;
  readonly onError?: (message: string) => void;
}

/** The URL with its password hidden, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

export class PostgresDatastore implements Datastore {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  readonly #notifier = new Notifier();
  readonly #url: string;
  readonly #onError: (message: string) => void;
  #listener: pg.Client | undefined;
  #listening: Promise<void> | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  private constructor(opts: PostgresOptions) {
    this.#url = opts.url;
    this.#onError = opts.onError ?? (() => {});
    this.#pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 4,
      statement_timeout: opts.statementTimeoutMs ?? 5_000,
      connectionTimeoutMillis: opts.statementTimeoutMs ?? 5_000,
    });
    // An idle client's error (the server went away) must not crash the process; the next query reports it.
    this.#pool.on('error', (err) => this.#onError(`datastore connection lost: ${err.message}`));
  }

  /** Connects and migrates the schema to the latest version (under an advisory lock). */
  static async open(opts: PostgresOptions): Promise<PostgresDatastore> {
    if (!/^postgres(ql)?:\/\//.test(opts.url)) {
      throw new DatastoreError('DATASTORE_URL_INVALID', `datastore URL ${redactUrl(opts.url)} is not postgres://USER:PASSWORD@HOST:PORT/DB`);
    }
    const ds = new PostgresDatastore(opts);
    try {
      await ds.#migrate();
    } catch (err) {
      await ds.#pool.end().catch(() => {});
      throw err instanceof DatastoreError ? err : unavailable(opts.url, err);
    }
    return ds;
  }

  async #migrate(): Promise<void> {
    const c = await this.#pool.connect();
    try {
      await c.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      try {
        await c.query('create table if not exists tp_schema (version int primary key, description text not null, applied_at timestamptz not null default now())');
        const cur = Number((await c.query('select coalesce(max(version), 0) as v from tp_schema')).rows[0].v);
        if (cur > LATEST_SCHEMA) {
          throw new DatastoreError('DATASTORE_SCHEMA_TOO_NEW', `the database's schema is version ${cur}, newer than this trustplane knows (${LATEST_SCHEMA}); upgrade this replica`);
        }
        for (const m of MIGRATIONS.filter((x) => x.version > cur)) {
          await c.query('begin');
          try {
            await c.query(m.sql);
            await c.query('insert into tp_schema (version, description) values ($1, $2)', [m.version, m.description]);
            await c.query('commit');
          } catch (err) {
            await c.query('rollback');
            throw err;
          }
        }
      } finally {
        await c.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      }
    } finally {
      c.release();
    }
  }

  async #q<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(sql, params);
    } catch (err) {
      throw err instanceof DatastoreError ? err : unavailable(this.#url, err);
    }
  }

  async #tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.#pool.connect();
    } catch (err) {
      throw unavailable(this.#url, err);
    }
    try {
      await c.query('begin');
      const out = await fn(c);
      await c.query('commit');
      return out;
    } catch (err) {
      await c.query('rollback').catch(() => {});
      throw err instanceof DatastoreError ? err : unavailable(this.#url, err);
    } finally {
      c.release();
    }
  }

  async schemaVersion(): Promise<number> {
    return Number((await this.#q('select coalesce(max(version), 0) as v from tp_schema')).rows[0]!.v);
  }

  async createJoinToken(row: JoinTokenRow): Promise<void> {
    const r = await this.#q('insert into tp_join_tokens (hash, node, created_at, expires_at) values ($1, $2, $3, $4) on conflict do nothing', [row.hash, row.node, row.createdAt, row.expiresAt]);
    if (r.rowCount === 0) throw new DatastoreError('DATASTORE_INPUT_INVALID', 'a join token with this hash already exists');
  }

  async consumeJoinToken(hash: string, now: number): Promise<ConsumeResult> {
    // One statement: of any number of replicas presenting the token at once, exactly one updates the row.
    const won = await this.#q<{ node: string }>('update tp_join_tokens set used_at = $2 where hash = $1 and used_at is null and expires_at > $2 returning node', [hash, now]);
    if (won.rows[0]) return { ok: true, node: won.rows[0].node };
    const r = await this.#q<{ node: string; expires_at: string; used_at: string | null }>('select node, expires_at, used_at from tp_join_tokens where hash = $1', [hash]);
    const t = r.rows[0];
    if (!t) return { ok: false, reason: 'unknown' };
    if (now >= Number(t.expires_at)) return { ok: false, reason: 'expired', node: t.node, expiresAt: Number(t.expires_at) };
    return { ok: false, reason: 'used', node: t.node };
  }

  async restoreJoinToken(hash: string): Promise<void> {
    await this.#q('update tp_join_tokens set used_at = null where hash = $1', [hash]);
  }

  async pruneJoinTokens(now: number): Promise<number> {
    return (await this.#q('delete from tp_join_tokens where expires_at <= $1', [now])).rowCount ?? 0;
  }

  async appendMeshRevision(rev: NewMeshRevision): Promise<{ revision: MeshRevision; created: boolean }> {
    checkNewRevision(rev);
    return this.#tx(async (c) => {
      // Serialises appliers: revision numbers are dense and the digest check sees the true latest.
      await c.query('lock table tp_mesh_revisions in exclusive mode');
      const latest = (await c.query('select * from tp_mesh_revisions order by revision desc limit 1')).rows[0];
      if (latest && latest.digest === rev.digest) return { revision: revisionOf(latest), created: false };
      const n = latest ? Number(latest.revision) + 1 : 1;
      const row = (
        await c.query('insert into tp_mesh_revisions (revision, digest, source, applied_by, applied_at, rollback_of) values ($1, $2, $3, $4, $5, $6) returning *', [
          n,
          rev.digest,
          rev.source,
          rev.appliedBy,
          rev.appliedAt,
          rev.rollbackOf ?? null,
        ])
      ).rows[0];
      await c.query('delete from tp_mesh_revisions where revision <= $1', [n - DATASTORE_LIMITS.maxHistory]);
      await c.query('select pg_notify($1, $2)', [CHANNELS.mesh, String(n)]);
      return { revision: revisionOf(row), created: true };
    });
  }

  async meshRevision(revision?: number): Promise<MeshRevision | undefined> {
    const r = revision === undefined ? await this.#q('select * from tp_mesh_revisions order by revision desc limit 1') : await this.#q('select * from tp_mesh_revisions where revision = $1', [revision]);
    const row = r.rows[0];
    return row ? revisionOf(row) : undefined;
  }

  async meshHistory(limit: number): Promise<MeshRevisionSummary[]> {
    const r = await this.#q('select revision, digest, applied_by, applied_at, rollback_of from tp_mesh_revisions order by revision desc limit $1', [Math.max(0, limit)]);
    return r.rows.map(summaryOf);
  }

  async putAuthority(row: AuthorityRow): Promise<void> {
    await this.#q(
      `insert into tp_authorities (id, replica, certificate_pem, not_after, state) values ($1, $2, $3, $4, $5)
       on conflict (id) do update set replica = excluded.replica, certificate_pem = excluded.certificate_pem, not_after = excluded.not_after, state = excluded.state`,
      [row.id, row.replica, row.certificatePem, row.notAfter, row.state],
    );
    await this.#q('select pg_notify($1, $2)', [CHANNELS.authorities, row.id]);
  }

  async removeAuthority(id: string): Promise<void> {
    await this.#q('delete from tp_authorities where id = $1', [id]);
    await this.#q('select pg_notify($1, $2)', [CHANNELS.authorities, id]);
  }

  async authorities(): Promise<AuthorityRow[]> {
    const r = await this.#q('select * from tp_authorities order by id');
    return r.rows.map((x) => ({ id: x.id, replica: x.replica, certificatePem: x.certificate_pem, notAfter: Number(x.not_after), state: x.state }));
  }

  async putJwtAuthority(row: JwtAuthorityRow): Promise<void> {
    await this.#q(
      `insert into tp_jwt_authorities (key_id, replica, public_key, not_after) values ($1, $2, $3, $4)
       on conflict (key_id) do update set replica = excluded.replica, public_key = excluded.public_key, not_after = excluded.not_after`,
      [row.keyId, row.replica, JSON.stringify(row.publicKey), row.notAfter],
    );
    await this.#q('select pg_notify($1, $2)', [CHANNELS.authorities, row.keyId]);
  }

  async removeJwtAuthority(keyId: string): Promise<void> {
    await this.#q('delete from tp_jwt_authorities where key_id = $1', [keyId]);
    await this.#q('select pg_notify($1, $2)', [CHANNELS.authorities, keyId]);
  }

  async jwtAuthorities(): Promise<JwtAuthorityRow[]> {
    const r = await this.#q('select * from tp_jwt_authorities order by key_id');
    return r.rows.map((x) => ({ keyId: String(x.key_id), replica: String(x.replica), publicKey: x.public_key as Record<string, string>, notAfter: Number(x.not_after) }));
  }

  async nextBundleSequence(): Promise<number> {
    return Number((await this.#q('update tp_bundle_sequence set sequence = sequence + 1 where id = 1 returning sequence')).rows[0]!.sequence);
  }

  async recordNodeSvid(row: NodeSvidRow): Promise<void> {
    await this.#q('insert into tp_node_svids (serial, node, replica, not_after, issued_at) values ($1, $2, $3, $4, $5) on conflict (serial) do nothing', [row.serial, row.node, row.replica, row.notAfter, row.issuedAt]);
    await this.#q('delete from tp_node_svids where node = $1 and not_after <= $2', [row.node, row.issuedAt]);
  }

  async nodeSvids(node: string): Promise<NodeSvidRow[]> {
    const r = await this.#q('select * from tp_node_svids where node = $1 order by issued_at', [node]);
    return r.rows.map((x) => ({ serial: x.serial, node: x.node, replica: x.replica, notAfter: Number(x.not_after), issuedAt: Number(x.issued_at) }));
  }

  async heartbeat(replica: string, now: number, proxies: readonly ProxyRow[], info: Readonly<Record<string, unknown>> = {}, o: { readonly notify?: boolean } = {}): Promise<void> {
    await this.#tx(async (c) => {
      await c.query('insert into tp_replicas (replica, heartbeat_at, info) values ($1, $2, $3) on conflict (replica) do update set heartbeat_at = excluded.heartbeat_at, info = excluded.info', [
        replica,
        now,
        JSON.stringify(info),
      ]);
      await c.query('delete from tp_proxy_status where replica = $1', [replica]);
      if (proxies.length) {
        await c.query('insert into tp_proxy_status (replica, stream_id, doc) select $1, s, d from unnest($2::text[], $3::jsonb[]) as t(s, d)', [
          replica,
          proxies.map((p) => p.streamId),
          proxies.map((p) => JSON.stringify(p.doc)),
        ]);
      }
      // Sent at commit: whoever is told reads the rows just written.
      if (o.notify) await c.query('select pg_notify($1, $2)', [CHANNELS.status, replica]);
    });
  }

  async putEvidence(row: EvidenceRow): Promise<void> {
    await this.#q(
      'insert into tp_traffic_evidence (replica, incarnation, written_at, summary) values ($1, $2, $3, $4) on conflict (replica, incarnation) do update set written_at = excluded.written_at, summary = excluded.summary',
      [row.replica, row.incarnation, row.writtenAt, JSON.stringify(row.summary)],
    );
  }

  async evidence(since: number): Promise<EvidenceRow[]> {
    const r = await this.#q('select replica, incarnation, written_at, summary from tp_traffic_evidence where written_at > $1 order by replica, incarnation', [since]);
    return r.rows.map((x) => ({ replica: String(x.replica), incarnation: String(x.incarnation), writtenAt: Number(x.written_at), summary: x.summary as Record<string, unknown> }));
  }

  async pruneEvidence(before: number): Promise<number> {
    return (await this.#q('delete from tp_traffic_evidence where written_at <= $1', [before])).rowCount ?? 0;
  }

  async proxies(now: number, timeoutMs: number): Promise<ProxyView[]> {
    const r = await this.#q(
      'select p.replica, p.stream_id, p.doc, r.heartbeat_at from tp_proxy_status p join tp_replicas r using (replica) where r.heartbeat_at > $1 order by p.replica, p.stream_id',
      [now - timeoutMs],
    );
    return r.rows.map((x) => ({ replica: x.replica, streamId: x.stream_id, doc: x.doc, heartbeatAt: Number(x.heartbeat_at) }));
  }

  async liveReplicas(now: number, timeoutMs: number): Promise<string[]> {
    return (await this.#q('select replica from tp_replicas where heartbeat_at > $1 order by replica', [now - timeoutMs])).rows.map((x) => x.replica as string);
  }

  async replicas(now: number, timeoutMs: number): Promise<ReplicaView[]> {
    const r = await this.#q('select replica, heartbeat_at, info from tp_replicas where heartbeat_at > $1 order by replica', [now - timeoutMs]);
    return r.rows.map((x) => ({ replica: String(x.replica), heartbeatAt: Number(x.heartbeat_at), info: x.info as Record<string, unknown> }));
  }

  async acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<{ held: boolean; lease: Lease }> {
    const won = await this.#q(
      `insert into tp_leases (name, holder, fencing_token, expires_at) values ($1, $2, 1, $3)
       on conflict (name) do update set
         holder = excluded.holder,
         fencing_token = tp_leases.fencing_token + case when tp_leases.holder = excluded.holder then 0 else 1 end,
         expires_at = excluded.expires_at
       where tp_leases.holder = excluded.holder or tp_leases.expires_at <= $4
       returning *`,
      [name, holder, now + ttlMs, now],
    );
    if (won.rows[0]) return { held: true, lease: leaseOf(won.rows[0]) };
    const cur = (await this.#q('select * from tp_leases where name = $1', [name])).rows[0];
    // Leases are never deleted, and the insert above only fails to return a row when one exists.
    if (!cur) throw new DatastoreError('DATASTORE_CORRUPT', `lease ${name} neither taken nor present`);
    return { held: false, lease: leaseOf(cur) };
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.#q('update tp_leases set expires_at = 0 where name = $1 and holder = $2', [name, holder]);
  }

  async recordRolloutDecision(lease: Lease, now: number, revision: number, decision: Record<string, unknown>): Promise<RolloutDecision> {
    const d = await this.#tx(async (c) => {
      // The share lock makes a concurrent takeover (an update of this row) wait until this decision is committed:
      // a decision is either recorded under the lease it was made under, or refused.
      const cur = (await c.query('select * from tp_leases where name = $1 for share', [lease.name])).rows[0];
      const held = cur ? leaseOf(cur) : undefined;
      if (!held || held.holder !== lease.holder || held.fencingToken !== lease.fencingToken || held.expiresAt <= now) throw fenced(lease, held);
      const row = (
        await c.query('insert into tp_rollout_decisions (lease, fencing_token, revision, decided_at, decision) values ($1, $2, $3, $4, $5) returning *', [
          lease.name,
          lease.fencingToken,
          revision,
          now,
          JSON.stringify(decision),
        ])
      ).rows[0];
      await c.query('select pg_notify($1, $2)', [CHANNELS.rollout, String(row.seq)]);
      return row;
    });
    return decisionOf(d);
  }

  async rolloutDecisions(revision: number): Promise<RolloutDecision[]> {
    return (await this.#q('select * from tp_rollout_decisions where revision = $1 order by seq', [revision])).rows.map(decisionOf);
  }

  async watch(channel: DatastoreChannel, listener: (payload: string) => void): Promise<() => void> {
    const off = this.#notifier.on(channel, listener);
    await this.#listen();
    return off;
  }

  /** One dedicated connection LISTENs on every channel; when it drops, it is re-made after a pause. */
  #listen(): Promise<void> {
    if (this.#listening || this.#closed) return this.#listening ?? Promise.resolve();
    this.#listening = (async () => {
      const c = new pg.Client({ connectionString: this.#url });
      c.on('notification', (n) => {
        const channel = (Object.keys(CHANNELS) as DatastoreChannel[]).find((k) => CHANNELS[k] === n.channel);
        if (channel) this.#notifier.emit(channel, n.payload ?? '');
      });
      const lost = (why: string): void => {
        if (this.#listener !== c) return;
        this.#listener = undefined;
        this.#listening = undefined;
        c.end().catch(() => {});
        if (this.#closed) return;
        this.#onError(`datastore notifications interrupted (${why}); polling covers the gap, reconnecting`);
        this.#retry = setTimeout(() => void this.#listen(), LISTEN_RETRY_MS);
        this.#retry.unref();
      };
      c.on('error', (e) => lost(e.message));
      c.on('end', () => lost('connection ended'));
      this.#listener = c;
      try {
        await c.connect();
        for (const ch of Object.values(CHANNELS)) await c.query(`listen ${ch}`);
      } catch (e) {
        lost((e as Error).message);
      }
    })();
    return this.#listening;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const l = this.#listener;
    this.#listener = undefined;
    await l?.end().catch(() => {});
    this.#notifier.clear();
    await this.#pool.end().catch(() => {});
  }
}

function unavailable(url: string, err: unknown): DatastoreError {
  const e = err as { code?: string; message?: string };
  // Only the driver's short message and code: never the URL's password, never a stack.
  const what = (e.message ?? String(err)).split('\n')[0]!.replaceAll(url, redactUrl(url));
  return new DatastoreError('DATASTORE_UNAVAILABLE', `PostgreSQL at ${redactUrl(url)}: ${what}${e.code ? ` (${e.code})` : ''}`, { cause: err });
}

type Row = Record<string, unknown>;
const summaryOf = (x: Row): MeshRevisionSummary => ({
  revision: Number(x.revision),
  digest: String(x.digest),
  appliedBy: String(x.applied_by),
  appliedAt: Number(x.applied_at),
  ...(x.rollback_of !== null && x.rollback_of !== undefined ? { rollbackOf: Number(x.rollback_of) } : {}),
});
const revisionOf = (x: Row): MeshRevision => ({ ...summaryOf(x), source: String(x.source) });
const leaseOf = (x: Row): Lease => ({ name: String(x.name), holder: String(x.holder), fencingToken: Number(x.fencing_token), expiresAt: Number(x.expires_at) });
const decisionOf = (x: Row): RolloutDecision => ({
  seq: Number(x.seq),
  revision: Number(x.revision),
  fencingToken: Number(x.fencing_token),
  decidedAt: Number(x.decided_at),
  decision: x.decision as Record<string, unknown>,
});
