// What the traffic evidence says about one service port, as the STRICT gate, `trustplane strict-check`, /rollout
// and the dashboard read it. Produced by the access-log receiver (src/traffic); this file is the contract between
// that producer and its readers, so that each side can change on its own.

/** How a connection reached a port, as told by the filter chain that logged it. */
export type ConnectionKind = 'mtls' | 'plaintext' | 'handshake_failure' | 'rbac_denied';

export interface SourceCount {
  /** A caller's SPIFFE ID (mTLS) or a source IP address (plaintext); "other" once the per-port bound is reached. */
  readonly source: string;
  readonly count: number;
  /** ISO 8601 time of the last connection from this source. */
  readonly lastSeen: string;
}

export interface WindowCounts {
  readonly mtls: number;
  readonly plaintext: number;
  readonly handshakeFailures: number;
  readonly rbacDenied: number;
}

/** Whether the evidence says STRICT is safe on a port now. */
export type Readiness = 'ready' | 'not_ready' | 'no_evidence';

/** What the STRICT gate decided for a port the description asks STRICT for. */
export interface StrictGateState {
  /** held = served PERMISSIVE for now; forced = STRICT by `force: true` whatever the evidence; allowed = STRICT. */
  readonly state: 'held' | 'forced' | 'allowed';
  /** One sentence: why (for held: which plaintext sources, last seen). */
  readonly reason: string;
}

export interface PortEvidence {
  readonly service: string;
  readonly port: number;
  /** False for targets that cannot send access logs (proxyless gRPC): "no evidence", never "ready". */
  readonly evidenceAvailable: boolean;
  /** ready = over the window it served mTLS and no plaintext; no_evidence when evidenceAvailable is false. */
  readonly readiness: Readiness;
  /** One sentence: why (not) ready. */
  readonly readinessReason: string;
  /** Present when the description asks STRICT for the port. */
  readonly strictGate?: StrictGateState;
  /** Over the sliding window. */
  readonly window: WindowCounts;
  /** Since the control plane started. */
  readonly totals: WindowCounts;
  /** mTLS connections in the window by caller SPIFFE ID, most first. */
  readonly mtlsCallers: readonly SourceCount[];
  /** Plaintext connections in the window by source address, most first. */
  readonly plaintextSources: readonly SourceCount[];
  /** Connections the port's RBAC refused in the window, by caller, most first. */
  readonly rbacDeniedCallers: readonly SourceCount[];
  /** mTLS share over time, oldest first: one point per bucket of the window. */
  readonly series: readonly { readonly at: string; readonly mtls: number; readonly plaintext: number }[];
}

/** Read side of the traffic evidence. */
export interface TrafficEvidenceView {
  readonly windowMs: number;
  ports(): readonly PortEvidence[];
  port(service: string, port: number): PortEvidence | undefined;
  /** Told after entries were counted (at most a few times a second): for live pages. */
  onChange(listener: () => void): () => void;
}

/**
 * One port's evidence as plain data, bucket by bucket: what a replica shares so that the rollout leader can merge
 * every replica's evidence into one view (src/replica/global-evidence.ts). Bounded like the evidence it comes from:
 * at most one window of buckets, and the per-port source bound.
 */
export interface PortBuckets {
  readonly service: string;
  readonly port: number;
  readonly evidenceAvailable: boolean;
  /** Non-empty buckets of the window, oldest first: [bucket number (time / bucketMs), mtls, plaintext, handshake failures, rbac denied]. */
  readonly buckets: readonly (readonly [number, number, number, number, number])[];
  /** Named sources (and "other") with connections in the window: per bucket [bucket number, count], oldest first. */
  readonly sources: readonly BucketSource[];
  /** Since the producer started: mtls, plaintext, handshake failures, rbac denied. */
  readonly totals: readonly [number, number, number, number];
}

export interface BucketSource {
  readonly kind: 'mtls' | 'plaintext' | 'rbac_denied';
  readonly source: string;
  /** Milliseconds since the epoch. */
  readonly lastSeen: number;
  readonly counts: readonly (readonly [number, number])[];
}

/** Every declared port's buckets, with the bucket width they are numbered by. */
export interface EvidenceBuckets {
  readonly windowMs: number;
  readonly bucketMs: number;
  readonly ports: readonly PortBuckets[];
}
