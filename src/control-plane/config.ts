// What `trustplane serve` runs with. Every field has an embedded default, so `npm start` needs no configuration:
// the embedded CA, the example mesh, and a data directory in the working directory.
import { join, resolve } from 'node:path';
import type { KeyType } from '../ca/key-type.js';
import type { SigningAlgorithm } from '../jwt/algorithms.js';
import type { SdsPolicy } from '../envoy/index.js';
import type { AfterWrite } from '../svid-files/after-write.js';
import type { TrafficConfig } from '../traffic/traffic.js';
import type { BundleEndpointConfig, FederationClientConfig } from '../federation/config.js';
import type { IdentitySourceSpec } from '../sources/identity-source-spec.js';
import type { ReplicaConfig } from '../replica/replica-start.js';
import type { XdsLimits } from '../xds/server/limits.js';

export interface ServeConfig {
  /** Holds the CA (0700/0600), join tokens and the xDS Unix socket. */
  readonly dataDir: string;
  readonly meshFile: string;
  /** Unix socket path for sidecars on this host; '' turns it off. */
  readonly unixSocket: string;
  /** host:port for TLS xDS (edge gateways, VMs); '' turns it off. */
  readonly tcpAddress: string;
  /** host:port of the HTTP endpoints: /live /ready /metrics /status /mesh /rollout; '' turns it off. */
  readonly adminAddress: string;
  /** Allow adminAddress on a non-loopback address (refused otherwise). */
  readonly adminRemote?: boolean;
  /** Development only: no TLS on TCP and no authorization anywhere. */
  readonly insecure: boolean;
  readonly caKeyType?: KeyType;
  readonly svidKeyType?: KeyType;
  readonly caTtlMs?: number;
  readonly svidTtlMs?: number;
  readonly upstream?: { readonly certFile: string; readonly keyFile: string };
  /**
   * The spiffe-helper role for proxyless gRPC services (target grpc), which load certificates from files:
   * <dir>/<trust domain><path>/{svid.pem, svid_key.pem, svid_bundle.pem}, rewritten on every renewal.
   */
  readonly svidFiles?: { readonly dir: string; readonly afterWrite?: AfterWrite };
  /** How generated listeners and clusters ask for their secrets (source, initial_fetch_timeout); see src/envoy/sds.ts. */
  readonly sds?: SdsPolicy;
  /** JWT-SVIDs: signing algorithm (ES256 default, ES384, RS256) and default token TTL (5 min, at most 1 h). */
  readonly jwt?: { readonly algorithm?: SigningAlgorithm; readonly tokenTtlMs?: number };
  /**
   * OIDC: `issuer` goes into every JWT-SVID as `iss`; with `address`, the discovery document and JWKS are served
   * there, over HTTPS (`tls` files, reloaded on change) or plain HTTP behind a TLS-terminating proxy.
   */
  readonly oidc?: {
    readonly issuer: string;
    readonly address?: string;
    readonly tls?: { readonly certFile: string; readonly keyFile: string };
    readonly behindTlsProxy?: boolean;
  };
  /** Where SVIDs and bundles come from: the embedded CA (default) or an existing SPIFFE Workload API (SPIRE). */
  readonly identitySource?: IdentitySourceSpec;
  /** The SPIFFE Workload API socket for applications (SPIFFE_ENDPOINT_SOCKET=unix://<path>); absent: none. */
  readonly workloadApiSocket?: string;
  /** Run as one of several replicas on a shared PostgreSQL (--datastore); absent: one process, the mesh file watched. */
  readonly replica?: ReplicaConfig;
  /** How long graceful shutdown waits for streams to end before cancelling them. */
  readonly drainMs?: number;
  /** Access-log evidence: window, per-port source bound, receiver limits (src/traffic). */
  readonly traffic?: TrafficConfig;
  /** Serve this trust domain's SPIFFE bundle over HTTPS (src/federation); absent = no bundle endpoint. */
  readonly bundleEndpoint?: BundleEndpointConfig;
  /** How federated bundles are fetched from their endpoints (trust anchors for https_web, limits). */
  readonly federation?: FederationClientConfig;
  /** What one xDS caller may ask (names per request, streams per principal, ...); defaults in src/xds/server/limits.ts. */
  readonly xdsLimits?: Partial<XdsLimits>;
}

export const DEFAULT_TCP_ADDRESS = '127.0.0.1:18000';
export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:18080';

export function defaultServeConfig(cwd = process.cwd()): ServeConfig {
  const dataDir = resolve(cwd, '.trustplane');
  return {
    dataDir,
    meshFile: resolve(cwd, 'examples', 'mesh.yaml'),
    unixSocket: join(dataDir, 'xds.sock'),
    tcpAddress: DEFAULT_TCP_ADDRESS,
    adminAddress: DEFAULT_ADMIN_ADDRESS,
    insecure: false,
  };
}
