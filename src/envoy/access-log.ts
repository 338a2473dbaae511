// How a generated listener tells trustplane which connection an access-log entry is about. The Envoy protos carry
// no filter-chain name in an entry, so each filter chain's gRPC access logger sets literal custom tags (the
// listener's own logger sets them without a chain, for connections no chain matched). The receiver
// (src/traffic/classify.ts) reads exactly these tags: this module is the one place their names are written.
import type { AccessLogSchema } from '#gen/envoy/config/accesslog/v3/accesslog_pb';
import { ApiVersion } from '#gen/envoy/config/core/v3/config_source_pb';
import { HttpGrpcAccessLogConfigSchema, TcpGrpcAccessLogConfigSchema } from '#gen/envoy/extensions/access_loggers/grpc/v3/als_pb';
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
  /** Which filter chain: `mtls` or `plaintext`; absent on the listener's own logger (no chain matched). */
  chain: 'trustplane.chain',
} as const;

/** The values of the chain tag. */
export type AccessLogChain = 'mtls' | 'plaintext';

export const TCP_GRPC_LOGGER = 'envoy.access_loggers.tcp_grpc';
export const HTTP_GRPC_LOGGER = 'envoy.access_loggers.http_grpc';

/** Where a logger sits: a listener of a service port (chain undefined = the listener's own logger). */
export interface AccessLogSite {
  readonly service: string;
  readonly port: number;
  readonly mode: Mode;
  readonly chain?: AccessLogChain;
}

/**
 * The gRPC access loggers of one site, to trustplane over the xDS cluster the bootstrap already has: the HTTP
 * logger (one entry per request) in an http_connection_manager, else the TCP logger (one per connection). Empty
 * when the description turns access logs off.
 */
export function accessLogs(mesh: MeshModel, site: AccessLogSite, http: boolean): Init<typeof AccessLogSchema>[] {
  if (!mesh.accessLogs) return [];
  const literal = (tag: string, value: string) => ({ tag, type: { case: 'literal' as const, value: { value } } });
  const commonConfig = {
    logName: ACCESS_LOG_NAME,
    transportApiVersion: ApiVersion.V3,
    grpcService: { targetSpecifier: { case: 'envoyGrpc' as const, value: { clusterName: XDS_CLUSTER } } },
    customTags: [
      literal(ACCESS_LOG_TAGS.service, site.service),
      literal(ACCESS_LOG_TAGS.port, String(site.port)),
      literal(ACCESS_LOG_TAGS.mode, site.mode),
      ...(site.chain ? [literal(ACCESS_LOG_TAGS.chain, site.chain)] : []),
    ],
  };
  const typedConfig = http ? typed(HttpGrpcAccessLogConfigSchema, { commonConfig }) : typed(TcpGrpcAccessLogConfigSchema, { commonConfig });
  return [{ name: http ? HTTP_GRPC_LOGGER : TCP_GRPC_LOGGER, configType: { case: 'typedConfig', value: typedConfig } }];
}

/** Memo key part of a site's loggers: everything accessLogs() reads. */
export function accessLogKey(mesh: MeshModel, site: AccessLogSite): string {
  return mesh.accessLogs ? `log|${site.service}|${site.port}|${site.mode}|${site.chain ?? ''}` : 'log|off';
}
