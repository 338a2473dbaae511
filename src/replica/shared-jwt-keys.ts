// Each replica signs JWT-SVIDs with keys of its own (its own journal in its own data directory; private keys never
// leave it) and publishes their public JWKs into the datastore, beside its X.509 authorities; every replica serves
// the union (SDS, Workload API, the admin JWKS and OIDC discovery's /keys), so a token minted on one replica
// verifies with the keys fetched from any other.
//
// How long a row stays: what a key signed must verify until it expires, the rule of the key's own journal. While a
// key may sign (prepared, active) nobody else knows how far its tokens reach, so its row lasts to the key's notAfter
// (tokens never outlive it): a dead replica's keys leave when they expire. Once old, the key signs nothing more and
// its bound is final, so the row is cut to the latest exp it signed; the replica deletes the row when the key leaves
// its journal, and any replica deletes a row whose time has passed.
import type { Datastore, JwtAuthorityRow } from '../datastore/index.js';
import type { JwtAuthority } from '../spiffe/jwt-authority.js';

/** A local JWT key as its journal reports it (JwtKeyManager.status()). */
export interface LocalJwtKey {
  readonly keyId: string;
  readonly state: 'prepared' | 'active' | 'old';
  readonly notAfter: Date;
  /** Latest exp of a token it may have signed; undefined if none. */
  readonly issuedUntil: Date | undefined;
}

/** Until when a verifier must know the key. */
export function publishedUntil(k: LocalJwtKey): number {
  return k.state === 'old' ? Math.min(k.notAfter.getTime(), k.issuedUntil?.getTime() ?? 0) : k.notAfter.getTime();
}

/**
 * Publishes this replica's keys (public parts) and deletes the rows of its keys that left its journal. Returns the
 * key IDs now published, to pass back as `previous` next time.
 */
export async function publishJwtKeys(
  ds: Datastore,
  replica: string,
  local: readonly JwtAuthority[],
  status: readonly LocalJwtKey[],
  previous: ReadonlySet<string>,
): Promise<Set<string>> {
  const byKid = new Map(status.map((k) => [k.keyId, k]));
  const published = new Set<string>();
  for (const j of local) {
    const k = byKid.get(j.keyId);
    if (!k) continue;
    await ds.putJwtAuthority({ keyId: j.keyId, replica, publicKey: j.publicKey, notAfter: publishedUntil(k) });
    published.add(j.keyId);
  }
  for (const kid of previous) if (!published.has(kid)) await ds.removeJwtAuthority(kid);
  return published;
}

/** The other replicas' keys still to be verified with at `now`; rows whose time has passed are deleted. */
export async function remoteJwtKeys(ds: Datastore, rows: readonly JwtAuthorityRow[], replica: string, now: number): Promise<JwtAuthorityRow[]> {
  const live: JwtAuthorityRow[] = [];
  for (const r of rows) {
    if (r.notAfter <= now) {
      await ds.removeJwtAuthority(r.keyId).catch(() => {});
      continue;
    }
    if (r.replica !== replica) live.push(r);
  }
  return live;
}

/** The shared bundle's JWT authorities as OIDC discovery's key source (src/oidc/discovery-server.ts). */
export function sharedJwtKeys(bundle: { bundle(): { readonly jwtAuthorities: readonly JwtAuthority[] } }): { authorities(): readonly JwtAuthority[] } {
  return { authorities: () => bundle.bundle().jwtAuthorities };
}
