// PostgreSQL schema, one entry per version, applied in order at start under an advisory lock so that replicas
// starting together migrate once. A migration is never edited once released: changes are new entries.
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'join tokens, mesh revisions, authorities, bundle sequence, node SVIDs, replicas and proxy status, leases, rollout decisions',
    sql: `
create table tp_join_tokens (
  hash text primary key,
  node text not null,
  created_at bigint not null,
  expires_at bigint not null,
  used_at bigint
);
create table tp_mesh_revisions (
  revision bigint primary key,
  digest text not null,
  source text not null,
  applied_by text not null,
  applied_at bigint not null,
  rollback_of bigint
);
create table tp_authorities (
  id text primary key,
  replica text not null,
  certificate_pem text not null,
  not_after bigint not null,
  state text not null check (state in ('prepared', 'active', 'old'))
);
create table tp_bundle_sequence (
  id int primary key check (id = 1),
  sequence bigint not null
);
insert into tp_bundle_sequence values (1, 0);
create table tp_node_svids (
  serial text primary key,
  node text not null,
  replica text not null,
  not_after bigint not null,
  issued_at bigint not null
);
create index tp_node_svids_node on tp_node_svids (node);
create table tp_replicas (
  replica text primary key,
  heartbeat_at bigint not null
);
create table tp_proxy_status (
  replica text not null references tp_replicas (replica) on delete cascade,
  stream_id text not null,
  doc jsonb not null,
  primary key (replica, stream_id)
);
create table tp_leases (
  name text primary key,
  holder text not null,
  fencing_token bigint not null,
  expires_at bigint not null
);
create table tp_rollout_decisions (
  seq bigserial primary key,
  lease text not null,
  fencing_token bigint not null,
  revision bigint not null,
  decided_at bigint not null,
  decision jsonb not null
);
create index tp_rollout_decisions_revision on tp_rollout_decisions (revision);
`,
  },
  {
    version: 2,
    description: 'what each replica says of itself on its heartbeat (the revision and rollout decision it serves)',
    sql: `alter table tp_replicas add column info jsonb not null default '{}'::jsonb;`,
  },
  {
    version: 3,
    description: "every replica's JWT-SVID public keys, for the shared bundle",
    sql: `create table tp_jwt_authorities (
  key_id text primary key,
  replica text not null,
  public_key jsonb not null,
  not_after bigint not null
);`,
  },
  {
    version: 4,
    description: "each replica's traffic evidence buckets, for the STRICT gate over every replica's proxies",
    sql: `create table tp_traffic_evidence (
  replica text not null,
  incarnation text not null,
  written_at bigint not null,
  summary jsonb not null,
  primary key (replica, incarnation)
);
create index tp_traffic_evidence_written_at on tp_traffic_evidence (written_at);`,
  },
];

export const LATEST_SCHEMA = MIGRATIONS.at(-1)!.version;
/** pg_advisory_lock key for migrations: any constant unique to trustplane. */
export const MIGRATION_LOCK_KEY = 0x7472_7573; // "trus"
