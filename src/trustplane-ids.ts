// trustplane's own identities live under spiffe://<trust-domain>/trustplane/: the xDS server's
// (…/trustplane/server) and the node SVIDs proxies authenticate with (…/trustplane/node/<name>). They are control
// plane infrastructure, never workloads: no description may declare or admit them, and SDS never serves them.
export const TRUSTPLANE_PATH = '/trustplane';

/** Whether a SPIFFE ID path is in trustplane's own part of the trust domain. */
export function isTrustplanePath(path: string): boolean {
  return path === TRUSTPLANE_PATH || path.startsWith(`${TRUSTPLANE_PATH}/`);
}

/** The same for a SPIFFE ID string (no parsing: whatever follows the authority). */
export function isTrustplaneId(spiffeId: string): boolean {
  const slash = spiffeId.indexOf('/', 'spiffe://'.length);
  return slash >= 0 && isTrustplanePath(spiffeId.slice(slash));
}
