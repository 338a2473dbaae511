// The datastore: everything that must be shared between replicas or must outlive a process, behind one interface
// with two backends (embedded files for one server, PostgreSQL for several). Time is always passed in by the caller
// (its Clock), so the same rules run in milliseconds under a ManualClock in tests; replicas' clocks must agree to
// within a small fraction of the lease and heartbeat timeouts (NTP), as SPIRE servers' clocks must.
//
// No private key ever crosses this interface: authorities are published as certificates only, and each replica
// keeps its own signing key in its own data directory.
import { TrustplaneError } from '../errors.js';

export type DatastoreErrorCode =
  | 'DATASTORE_URL_INVALID'
  | 'DATASTORE_UNAVAILABLE'
  | 'DATASTORE_SCHEMA_TOO_NEW'
  | 'DATASTORE_CORRUPT'
  | 'DATASTORE_LOCKED'
  | 'DATASTORE_FENCED'
  | 'DATASTORE_NOT_FOUND'
  | 'DATASTORE_INPUT_INVALID';

export class DatastoreError extends TrustplaneError {
  declare readonly code: DatastoreErrorCode;
  constructor(code: DatastoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A join token as kept: only the SHA-256 of the secret, never the secret. */
export interface JoinTokenRow {
  readonly hash: string;
  readonly node: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** Why spending a token failed; the caller turns it into its own error (JOIN_TOKEN_*). */
export type ConsumeResult = { readonly ok: true; readonly node: string } | { readonly ok: false; readonly reason: 'unknown' | 'used' | 'expired'; readonly node?: string; readonly expiresAt?: number };

export interface MeshRevision {
  /** 1, 2, 3, ... in the order applied; never reused. */
  readonly revision: number;
  /** sha256 of source, hex. */
  readonly digest: string;
  /** The description exactly as applied (YAML text). */
  readonly source: string;
  readonly appliedBy: string;
  readonly appliedAt: number;
  /** Set when this revision re-applies an earlier one (a rollback). */
  readonly rollbackOf?: number;
}

export type MeshRevisionSummary = Omit<MeshRevision, 'source'>;

export interface NewMeshRevision {
  readonly source: string;
  readonly digest: string;
  readonly appliedBy: string;
  readonly appliedAt: number;
  readonly rollbackOf?: number;
}

export type AuthorityState = 'prepared' | 'active' | 'old';

/** A signing authority as published into the shared bundle: its certificate, never its key. */
export interface AuthorityRow {
  /** Upper-case hex serial of the CA certificate. */
  readonly id: string;
  /** The replica that holds the key. */
  readonly replica: string;
  readonly certificatePem: string;
  readonly notAfter: number;
  readonly state: AuthorityState;
}

/** A JWT-SVID signing key as published into the shared bundle: its public JWK, never the private key. */
export interface JwtAuthorityRow {
  readonly keyId: string;
  readonly replica: string;
  /** kty and the public parameters only (src/spiffe/jwt-authority.ts). */
  readonly publicKey: Readonly<Record<string, string>>;
  readonly notAfter: number;
}

export interface NodeSvidRow {
  readonly serial: string;
  readonly node: string;
  readonly replica: string;
  readonly notAfter: number;
  readonly issuedAt: number;
}

/** One stream's sync state as a replica reports it (the xDS server's status row, opaque here). */
export interface ProxyRow {
  readonly streamId: string;
  readonly doc: Readonly<Record<string, unknown>>;
}

export interface ProxyView extends ProxyRow {
  readonly replica: string;
  readonly heartbeatAt: number;
}

/** A live replica as its last heartbeat described itself (e.g. the mesh revision and rollout decision it serves). */
export interface ReplicaView {
  readonly replica: string;
  readonly heartbeatAt: number;
  readonly info: Readonly<Record<string, unknown>>;
}

/** A replica's traffic evidence as it shared it (src/replica/global-evidence.ts), one row per process incarnation. */
export interface EvidenceRow {
  readonly replica: string;
  /** One per process start: a restarted replica (its in-memory evidence empty) never overwrites what it shared before. */
  readonly incarnation: string;
  readonly writtenAt: number;
  /** The evidence buckets (opaque here; the reader checks them). */
  readonly summary: Readonly<Record<string, unknown>>;
}

export interface Lease {
  readonly name: string;
  readonly holder: string;
  /** Grows by one each time the lease changes hands: a write carrying an older token is refused. */
  readonly fencingToken: number;
  readonly expiresAt: number;
}

export interface RolloutDecision {
  readonly seq: number;
  readonly revision: number;
  readonly fencingToken: number;
  readonly decidedAt: number;
  readonly decision: Readonly<Record<string, unknown>>;
}

/** What a change notification is about; payload is a short string (e.g. the new revision number). */
export type DatastoreChannel = 'mesh' | 'authorities' | 'rollout' | 'status';

export interface Datastore {
  /** 'embedded' or 'postgres': for status pages. */
  readonly kind: string;
  /** Schema version in force after open() migrated it. */
  schemaVersion(): Promise<number>;

  // Join tokens: single-use across every replica.
  createJoinToken(row: JoinTokenRow): Promise<void>;
  /** Spends a token at `now`; exactly one of any number of concurrent callers gets ok. */
  consumeJoinToken(hash: string, now: number): Promise<ConsumeResult>;
  /** Gives a token back after the CA failed to issue for it (only the winner of consume calls this). */
  restoreJoinToken(hash: string): Promise<void>;
  pruneJoinTokens(now: number): Promise<number>;

  // Mesh revisions: applied once, kept with their history.
  /** Stores a new revision unless the latest one has the same digest (then returns the latest, unchanged). */
  appendMeshRevision(rev: NewMeshRevision): Promise<{ revision: MeshRevision; created: boolean }>;
  /** A revision by number, or the latest when revision is undefined. */
  meshRevision(revision?: number): Promise<MeshRevision | undefined>;
  /** Newest first. */
  meshHistory(limit: number): Promise<MeshRevisionSummary[]>;

  // The shared bundle: every replica's authorities (certificates only) and one sequence.
  putAuthority(row: AuthorityRow): Promise<void>;
  removeAuthority(id: string): Promise<void>;
  authorities(): Promise<AuthorityRow[]>;
  putJwtAuthority(row: JwtAuthorityRow): Promise<void>;
  removeJwtAuthority(keyId: string): Promise<void>;
  jwtAuthorities(): Promise<JwtAuthorityRow[]>;
  /** Increments spiffe_sequence and returns the new value. */
  nextBundleSequence(): Promise<number>;

  recordNodeSvid(row: NodeSvidRow): Promise<void>;
  nodeSvids(node: string): Promise<NodeSvidRow[]>;

  // Proxy status: each replica replaces its own rows on each heartbeat.
  /** notify: tell every replica on the 'status' channel (an ACK or a switch the leader is waiting for). */
  heartbeat(replica: string, now: number, proxies: readonly ProxyRow[], info?: Readonly<Record<string, unknown>>, o?: { readonly notify?: boolean }): Promise<void>;
  /** Rows of replicas whose last heartbeat is newer than now - timeoutMs. */
  proxies(now: number, timeoutMs: number): Promise<ProxyView[]>;
  /** Replicas alive at now (heartbeat newer than now - timeoutMs), sorted. */
  liveReplicas(now: number, timeoutMs: number): Promise<string[]>;
  /** Replicas alive at now with what their last heartbeat said of themselves, sorted by name. */
  replicas(now: number, timeoutMs: number): Promise<ReplicaView[]>;

  // Traffic evidence: each replica replaces its own incarnation's row; rows outlive their replica until pruned.
  putEvidence(row: EvidenceRow): Promise<void>;
  /** Rows written after `since`, sorted by replica and incarnation. */
  evidence(since: number): Promise<EvidenceRow[]>;
  /** Deletes rows written at or before `before`; returns how many. */
  pruneEvidence(before: number): Promise<number>;

  // Leadership: a lease with a fencing token.
  /** Takes or renews the lease; returns it if `holder` holds it afterwards, otherwise the current holder's lease. */
  acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<{ held: boolean; lease: Lease }>;
  releaseLease(name: string, holder: string): Promise<void>;
  /** Appends a decision only if `lease` is still held by its holder with the same fencing token at `now`; else DATASTORE_FENCED. */
  recordRolloutDecision(lease: Lease, now: number, revision: number, decision: Record<string, unknown>): Promise<RolloutDecision>;
  rolloutDecisions(revision: number): Promise<RolloutDecision[]>;

  /**
   * Told of changes made by any replica (LISTEN/NOTIFY, or in-process for the embedded backend). Resolves, with the
   * function that stops it, once changes made from then on will be heard. A notification can still be lost while a
   * connection is down: callers back this with a poll.
   */
  watch(channel: DatastoreChannel, listener: (payload: string) => void): Promise<() => void>;
  close(): Promise<void>;
}

export const DATASTORE_LIMITS = {
  /** A mesh description larger than this is refused before it is stored. */
  maxMeshSourceBytes: 16 * 1024 * 1024,
  maxHistory: 1000,
} as const;

export function checkNewRevision(rev: NewMeshRevision): void {
  if (Buffer.byteLength(rev.source) > DATASTORE_LIMITS.maxMeshSourceBytes) {
    throw new DatastoreError('DATASTORE_INPUT_INVALID', `mesh description is ${Buffer.byteLength(rev.source)} bytes; at most ${DATASTORE_LIMITS.maxMeshSourceBytes} are stored`);
  }
  if (!/^[0-9a-f]{64}$/.test(rev.digest)) throw new DatastoreError('DATASTORE_INPUT_INVALID', 'mesh revision digest must be 64 hex characters (sha256)');
}
