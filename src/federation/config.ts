// The federation settings of `trustplane serve` (ServeConfig.bundleEndpoint and .federation).
import type { FetchContext } from './fetch-bundle.js';

export type BundleEndpointConfig = {
  /** host:port to listen on. */
  readonly address: string;
  /** spiffe_refresh_hint served, in seconds (default 300). */
  readonly refreshHintSeconds?: number;
} & ({ readonly profile: 'https_web'; readonly certFile: string; readonly keyFile: string } | { readonly profile: 'https_spiffe' });

export type FederationClientConfig = Pick<FetchContext, 'webCa' | 'limits'>;
