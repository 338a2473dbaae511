// Per-service Envoy bootstrap: who the node is, where trustplane is, and how resources arrive.
//
// node.cluster = the service name: the xDS server maps a node to its service by node.cluster (resources.ts,
// serviceForNode). node.id names the proxy instance (status tables, CSDS); it defaults to the service name.
//
// The xDS cluster reaches trustplane either over a Unix socket (a sidecar on the same host; the server knows the
// caller by its peer credentials) or over TCP with mTLS, presenting the node SVID that node attestation wrote to
// files after `trustplane token create` (issue 4); the server's certificate must carry exactly its SPIFFE ID.
//
// Dynamic (default): listeners and clusters over ADS, secrets too (see sds.ts). Static: listeners and clusters
// inline, only the secrets over ADS, so nothing but certificates and bundles changes at run time.
import { create } from '@bufbuild/protobuf';
import { BootstrapSchema, type Bootstrap } from '#gen/envoy/config/bootstrap/v3/bootstrap_pb';
import { ApiConfigSource_ApiType, ApiVersion, ConfigSourceSchema, type ConfigSource } from '#gen/envoy/config/core/v3/config_source_pb';
import { UpstreamTlsContextSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/tls_pb';
import type { ClusterSchema } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { TransportSocketSchema } from '#gen/envoy/config/core/v3/base_pb';
import type { MeshModel, Service } from '../mesh/model.js';
import { endpointCluster, socketAddress } from './cluster.js';
import { XDS_CLUSTER } from './names.js';
import { resourceOptions, type ResourceOptions } from './options.js';
import { buildServiceResources } from './resources.js';
import { spiffeSanMatchers, TLS_TRANSPORT_SOCKET } from './tls.js';
import { typed, type Init } from './typed.js';
import { SpiffeId } from '../spiffe/id.js';

export type XdsEndpoint =
  | { readonly kind: 'unix'; readonly path: string }
  | {
      readonly kind: 'tcp';
      readonly address: string;
      readonly port: number;
      /** The node SVID (leaf first), its key and the trust bundle, as node attestation writes them. */
      readonly certificateFile: string;
      readonly privateKeyFile: string;
      readonly caFile: string;
      /** The SPIFFE ID trustplane's TCP listener presents; default spiffe://<td>/trustplane/server. */
      readonly serverSpiffeId?: string;
    };

export interface BootstrapOptions {
  /** Default: the service name. */
  readonly nodeId?: string;
  readonly adminAddress: string;
  readonly adminPort: number;
  readonly xds: XdsEndpoint;
  /** Listeners and clusters inline instead of over ADS. */
  readonly static: boolean;
  readonly resources: ResourceOptions;
}

export const DEFAULT_XDS_SOCKET = '/var/run/trustplane/xds.sock';
export const DEFAULT_NODE_TLS_DIR = '/etc/trustplane/node';

export const DEFAULT_BOOTSTRAP_OPTIONS: BootstrapOptions = Object.freeze<BootstrapOptions>({
  // Admin can change and dump config (including which secrets exist): localhost only.
  adminAddress: '127.0.0.1',
  adminPort: 15000,
  xds: { kind: 'unix', path: DEFAULT_XDS_SOCKET },
  static: false,
  resources: resourceOptions(),
});

/** TCP defaults with spiffe-helper's file names in DEFAULT_NODE_TLS_DIR. */
export function tcpXdsEndpoint(address: string, port: number, files: Partial<Omit<Extract<XdsEndpoint, { kind: 'tcp' }>, 'kind'>> = {}): XdsEndpoint {
  return {
    kind: 'tcp',
    address,
    port,
    certificateFile: `${DEFAULT_NODE_TLS_DIR}/svid.pem`,
    privateKeyFile: `${DEFAULT_NODE_TLS_DIR}/svid_key.pem`,
    caFile: `${DEFAULT_NODE_TLS_DIR}/svid_bundle.pem`,
    ...files,
  };
}

export function defaultServerSpiffeId(mesh: MeshModel): string {
  return SpiffeId.fromPath(mesh.trustDomain, '/trustplane/server').toString();
}

export function xdsCluster(mesh: MeshModel, xds: XdsEndpoint, connectTimeoutMs: number): Init<typeof ClusterSchema> {
  if (xds.kind === 'unix') {
    return endpointCluster({ name: XDS_CLUSTER, endpoints: [{ pipe: xds.path }], http2: true, connectTimeoutMs });
  }
  const serverId = SpiffeId.parse(xds.serverSpiffeId ?? defaultServerSpiffeId(mesh));
  const file = (filename: string) => ({ specifier: { case: 'filename' as const, value: filename } });
  return endpointCluster({
    name: XDS_CLUSTER,
    endpoints: [{ address: xds.address, port: xds.port }],
    http2: true,
    connectTimeoutMs,
    transportSocket: create(TransportSocketSchema, {
      name: TLS_TRANSPORT_SOCKET,
      configType: {
        case: 'typedConfig',
        value: typed(UpstreamTlsContextSchema, {
          commonTlsContext: {
            alpnProtocols: ['h2'],
            tlsCertificates: [{ certificateChain: file(xds.certificateFile), privateKey: file(xds.privateKeyFile) }],
            validationContextType: {
              case: 'validationContext',
              value: { trustedCa: file(xds.caFile), matchTypedSubjectAltNames: spiffeSanMatchers([serverId]) },
            },
          },
        }),
      },
    }),
  });
}

const adsSource = (): ConfigSource =>
  create(ConfigSourceSchema, { configSourceSpecifier: { case: 'ads', value: {} }, resourceApiVersion: ApiVersion.V3 });

function adsConfig() {
  return {
    apiType: ApiConfigSource_ApiType.GRPC,
    transportApiVersion: ApiVersion.V3,
    grpcServices: [{ targetSpecifier: { case: 'envoyGrpc' as const, value: { clusterName: XDS_CLUSTER } } }],
    // The xDS server caches the node from a stream's first request (issue 4).
    setNodeOnFirstMessageOnly: true,
  };
}

export function buildBootstrap(mesh: MeshModel, service: Service, options: Partial<BootstrapOptions> = {}): Bootstrap {
  const opts: BootstrapOptions = { ...DEFAULT_BOOTSTRAP_OPTIONS, ...options };
  const xds = xdsCluster(mesh, opts.xds, opts.resources.connectTimeoutMs);
  const needsAds = !opts.static || opts.resources.sds.source === 'ads';
  const inline = opts.static ? buildServiceResources(mesh, service, opts.resources) : undefined;
  return create(BootstrapSchema, {
    node: { id: opts.nodeId ?? service.name, cluster: service.name },
    staticResources: { listeners: inline ? [...inline.listeners] : [], clusters: [xds, ...(inline?.clusters ?? [])] },
    ...(needsAds ? { dynamicResources: { ...(opts.static ? {} : { ldsConfig: adsSource(), cdsConfig: adsSource() }), adsConfig: adsConfig() } } : {}),
    admin: { address: socketAddress(opts.adminAddress, opts.adminPort) },
  });
}
