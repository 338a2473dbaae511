// The gRPC xDS bootstrap (gRFC A27/A29/A36) for a service of target grpc: what GRPC_XDS_BOOTSTRAP (a file) or
// GRPC_XDS_BOOTSTRAP_CONFIG (the JSON itself) gives an xDS-enabled gRPC process. Pure: the JSON object only.
//
// - xds_servers: trustplane over its Unix socket with `insecure` channel credentials (the socket's peer
//   credentials are the authentication), or over TCP with gRFC A65 `tls` credentials presenting the node SVID.
//   grpc-js 1.14 knows only `insecure` and `google_default`, so a Node process must use the Unix socket; A65 is
//   for gRPC Go/Java/C++, and needs trustplane's server certificate to carry the host name the client dials.
// - node: id, cluster = the service name (the xDS server picks the node's resources by it), and a locality,
//   which grpc-js requires.
// - certificate_providers: the instance every generated TLS context names, a file_watcher over the files the
//   spiffe-helper role writes (src/svid-files). refresh_interval is how often gRPC re-reads them: a renewal is
//   picked up within it (it must be well below half an SVID's lifetime, the renewal point).
// - server_listener_resource_name_template: how an xDS-enabled server names the listener it watches.
import type { MeshModel, Service } from '../../mesh/model.js';
import { svidFilePaths } from '../../svid-files/layout.js';
import { DEFAULT_XDS_SOCKET, type XdsEndpoint } from '../bootstrap.js';
import { EnvoyGenerateError } from '../errors.js';
import { CERTIFICATE_PROVIDER_INSTANCE, hostPort, SERVER_LISTENER_TEMPLATE } from './names.js';

export const DEFAULT_SVID_DIR = '/var/run/trustplane/svids';
export const DEFAULT_REFRESH_INTERVAL_MS = 10_000;

export interface GrpcLocality {
  readonly region?: string;
  readonly zone?: string;
  readonly subZone?: string;
}

export interface GrpcBootstrapOptions {
  /** Default: the service name. */
  readonly nodeId?: string;
  readonly xds: XdsEndpoint;
  readonly locality: GrpcLocality;
  /** Root of the SVID files (svid-files `dir`). */
  readonly svidDir: string;
  readonly refreshIntervalMs: number;
}

export const DEFAULT_GRPC_BOOTSTRAP_OPTIONS: GrpcBootstrapOptions = Object.freeze<GrpcBootstrapOptions>({
  xds: { kind: 'unix', path: DEFAULT_XDS_SOCKET },
  locality: {},
  svidDir: DEFAULT_SVID_DIR,
  refreshIntervalMs: DEFAULT_REFRESH_INTERVAL_MS,
});

type Json = { [k: string]: Json } | Json[] | string | number | boolean;

/** A proto3 JSON duration ("1s", "0.250s"), the form gRPC's bootstrap parser accepts. */
export function durationString(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError(`a refresh interval is a positive whole number of milliseconds, got ${ms}`);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}s`;
}

function xdsServer(xds: XdsEndpoint, refreshInterval: string): Json {
  if (xds.kind === 'unix') return { server_uri: `unix:${xds.path}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] };
  return {
    server_uri: hostPort(xds.address, xds.port),
    channel_creds: [
      {
        type: 'tls',
        config: { certificate_file: xds.certificateFile, private_key_file: xds.privateKeyFile, ca_certificate_file: xds.caFile, refresh_interval: refreshInterval },
      },
    ],
    server_features: ['xds_v3'],
  };
}

function locality(l: GrpcLocality): Json {
  return { ...(l.region ? { region: l.region } : {}), ...(l.zone ? { zone: l.zone } : {}), ...(l.subZone ? { sub_zone: l.subZone } : {}) };
}

export function buildGrpcBootstrap(_mesh: MeshModel, service: Service, options: Partial<GrpcBootstrapOptions> = {}): Json {
  if (service.target !== 'grpc') {
    throw new EnvoyGenerateError('NOT_A_GRPC_SERVICE', `${service.path}: service ${service.name} has target ${service.target}; a gRPC bootstrap is for services with target: grpc`);
  }
  const opts: GrpcBootstrapOptions = { ...DEFAULT_GRPC_BOOTSTRAP_OPTIONS, ...options };
  const refresh = durationString(opts.refreshIntervalMs);
  const files = svidFilePaths(opts.svidDir, service.spiffeId);
  return {
    xds_servers: [xdsServer(opts.xds, refresh)],
    node: { id: opts.nodeId ?? service.name, cluster: service.name, locality: locality(opts.locality) },
    certificate_providers: {
      [CERTIFICATE_PROVIDER_INSTANCE]: {
        plugin_name: 'file_watcher',
        config: {
          certificate_file: files.certificateFile,
          private_key_file: files.privateKeyFile,
          ca_certificate_file: files.bundleFile,
          refresh_interval: refresh,
        },
      },
    },
    server_listener_resource_name_template: SERVER_LISTENER_TEMPLATE,
  };
}
