// Keeps TLS credentials in step with the identity store: the server's own SVID (renewed by the SvidManager) and
// the own trust domain's bundle (rotated by the CA) both feed the TLS context of the running listener.
import type { IdentityStore } from '../../store/identity-store.js';
import { TrustplaneError } from '../../errors.js';
import { SvidServerCredentials } from './svid-credentials.js';

export class ServerSvidError extends TrustplaneError {}

export function credentialsFromStore(store: IdentityStore, serverSpiffeId: string): { credentials: SvidServerCredentials; stop: () => void } {
  const read = () => {
    const svid = store.getSvid(serverSpiffeId);
    const bundle = store.getBundle(store.trustDomain);
    if (!svid || !bundle) {
      throw new ServerSvidError(
        'SERVER_SVID_MISSING',
        `the TCP listener needs the server SVID ${serverSpiffeId} and the bundle of ${store.trustDomain} in the identity store`,
      );
    }
    return { svid, bundle };
  };
  const first = read();
  const credentials = new SvidServerCredentials(first.svid, first.bundle);
  const stop = store.subscribe((change) => {
    if (!change.svids.includes(serverSpiffeId) && !change.bundles.includes(store.trustDomain)) return;
    const svid = store.getSvid(serverSpiffeId);
    const bundle = store.getBundle(store.trustDomain);
    // A removal is transient (rotation in progress); keep serving the last good context until both exist again.
    if (svid && bundle) credentials.update(svid, bundle);
  });
  return { credentials, stop };
}
