// Where the X.509-SVIDs and bundles in the identity store come from. trustplane's embedded CA is one source; an
// existing SPIFFE Workload API (a SPIRE agent) is another. Everything downstream — SDS, the generator, the
// rollout, the Workload API server, status — reads the identity store and does not care which one fills it.
import type { X509Certificate } from 'node:crypto';
import type { SpiffeId } from '../spiffe/id.js';
import type { JwtSvidIssuer } from '../workload-api/jwt-profile.js';

export interface Readiness {
  readonly ready: boolean;
  /** Why not ready; or, when ready, what an operator should still know (serving from a stale source). */
  readonly reason?: string;
}

export interface IdentitySource {
  /** `embedded-ca` | `workload-api`: the name used in --identity-source, status and metrics. */
  readonly kind: string;
  /** The identities the mesh declares (trustplane's own included); the source keeps each one fresh in the store. */
  setIdentities(ids: readonly SpiffeId[]): void;
  /** Resolves once the store holds what the source had to give at start (at once for the embedded CA). */
  started(): Promise<void>;
  ready(): Readiness;
  /** What `/status` shows about the source. */
  status(): IdentitySourceStatus;
  /** Who mints JWT-SVIDs for the Workload API's FetchJWTSVID, if this source can. */
  jwtIssuer?(): JwtSvidIssuer;
  /** CA certificates between SVIDs of the own trust domain and its bundle (an intermediate CA), if any. */
  intermediates(): readonly X509Certificate[];
  close(): void;
}

export interface IdentitySourceStatus {
  readonly kind: string;
  readonly [key: string]: unknown;
}
