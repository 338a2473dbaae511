// `serve --bundle-endpoint`: the endpoint server composed from its config. The https_spiffe endpoint presents
// trustplane's own server SVID (spiffe://<trust-domain>/trustplane/server), which the SvidManager renews.
import type { Logger } from '../observe/log.js';
import type { IdentityStore } from '../store/identity-store.js';
import type { BundleEndpointConfig } from './config.js';
import { BundleEndpointServer, type ServingIdentity } from './endpoint-server.js';
import { BundlePublisher } from './published-bundle.js';
import { DEFAULT_REFRESH_HINT_S } from './schedule.js';

export { BundleEndpointServer } from './endpoint-server.js';

export function startBundleEndpoint(
  config: BundleEndpointConfig,
  deps: { dataDir: string; store: IdentityStore; serverSpiffeId: string; logger: Logger; watch?: boolean },
): Promise<BundleEndpointServer> {
  const identity: ServingIdentity =
    config.profile === 'https_web' ? { profile: 'https_web', certFile: config.certFile, keyFile: config.keyFile } : { profile: 'https_spiffe', spiffeId: deps.serverSpiffeId };
  return BundleEndpointServer.start({
    address: config.address,
    identity,
    store: deps.store,
    publisher: new BundlePublisher(deps.dataDir, config.refreshHintSeconds ?? DEFAULT_REFRESH_HINT_S),
    logger: deps.logger.child({ component: 'bundle-endpoint' }),
    ...(deps.watch !== undefined ? { watch: deps.watch } : {}),
  });
}
