// How a generated listener tells trustplane about its connections. Envoy emits a listener's access logs for every
// connection when it closes (ActiveTcpConnection's destructor), whichever filter chain served it, and for
// connections no chain matched (response flag NFCF). So one gRPC access logger on each inbound listener gives one
// entry per connection, TCP and HTTP ports alike, with what the filters set on the connection: TLS properties,
// the transport failure of a failed handshake, the network RBAC filter's termination details. Loggers on the
// chains' own filters would log the same connections twice (tcp_proxy) or per request and never a connection
// that RBAC or the handshake refused (http_connection_manager).
//
// The listener's logger sets literal custom tags: service, port and the mode the listener was generated for. The
// chain is told from the entry itself: trustplane's mode table has exactly one TLS chain (mesh mTLS) and one
// plaintext chain, so TLS properties or a handshake failure mean the mTLS chain, NFCF means no chain matched
// (plaintext on a STRICT port), anything else the plaintext chain. A `trustplane.chain` tag, when present, says it
// outright. The receiver (src/traffic/classify.ts) reads exactly these tags: this module is the one place their
// names are written.
import type { AccessLogSchema } from '#gen/envoy/config/accesslog/v3/accesslog_pb';
import { ApiVersion } from '#gen/envoy/config/core/v3/config_source_pb';
import { TcpGrpcAccessLogConfigSchema } from '#gen/envoy/extensions/access_loggers/grpc/v3/als_pb';
import type { MeshModel, Mode } from '../mesh/model.js';
import { XDS_CLUSTER } from './names.js';
import { typed, type Init } from './typed.js';

/** `log_name` of every access logger trustplane generates: the first message of each ALS stream carries it. */
export const ACCESS_LOG_NAME = 'trustplane';

/** Custom tag keys set on every entry. */
export const ACCESS_LOG_TAGS = {
  /** The mesh service whose listener logged the connection. */
  service: 'trustplane.service',
  /** The inbound port (the listener's port). */
  port: 'trustplane.port',
  /** The mode the listener was generated for: DISABLE | PERMISSIVE | STRICT. */
  mode: 'trustplane.mode',
  /** Which filter chain (`mtls` or `plaintext`), for loggers that sit on one; generated listeners tell it otherwise. */
  chain: 'trustplane.chain',
} as const;

/** The values of the chain tag. */
export type AccessLogChain = 'mtls' | 'plaintext';

export const TCP_GRPC_LOGGER = 'envoy.access_loggers.tcp_grpc';

/** A service port's listener. */
export interface AccessLogSite {
  readonly service: string;
  readonly port: number;
  readonly mode: Mode;
}

/**
 * The listener's gRPC access logger (one entry per connection), to trustplane over the xDS cluster the bootstrap
 * already has. Empty when the description turns access logs off.
 */
export function listenerAccessLogs(mesh: MeshModel, site: AccessLogSite): Init<typeof AccessLogSchema>[] {
  if (!mesh.accessLogs) return [];
  const literal = (tag: string, value: string) => ({ tag, type: { case: 'literal' as const, value: { value } } });
  const commonConfig = {
    logName: ACCESS_LOG_NAME,
    transportApiVersion: ApiVersion.V3,
    grpcService: { targetSpecifier: { case: 'envoyGrpc' as const, value: { clusterName: XDS_CLUSTER } } },
    customTags: [literal(ACCESS_LOG_TAGS.service, site.service), literal(ACCESS_LOG_TAGS.port, String(site.port)), literal(ACCESS_LOG_TAGS.mode, site.mode)],
  };
  return [{ name: TCP_GRPC_LOGGER, configType: { case: 'typedConfig', value: typed(TcpGrpcAccessLogConfigSchema, { commonConfig }) } }];
}
