// Clusters with inline endpoints. STATIC when every endpoint is an IP (no DNS in the data path), STRICT_DNS
// otherwise (Envoy resolves and follows every address of the names). HTTP/2 upstreams (gRPC, the xDS server)
// say so with HttpProtocolOptions, the v3 way; HTTP/1.1 is Envoy's default and is left implicit.
import { isIP } from 'node:net';
import { Cluster_DiscoveryType, type ClusterSchema } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { HttpProtocolOptionsSchema } from '#gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb';
import type { AddressSchema } from '#gen/envoy/config/core/v3/address_pb';
import type { TransportSocketSchema } from '#gen/envoy/config/core/v3/base_pb';
import type { Endpoint } from '../mesh/model.js';
import { once } from './memo.js';
import { typed, durationMs, type Init } from './typed.js';

export const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export function socketAddress(address: string, port: number): Init<typeof AddressSchema> {
  return { address: { case: 'socketAddress', value: { address, portSpecifier: { case: 'portValue', value: port } } } };
}

export function pipeAddress(path: string): Init<typeof AddressSchema> {
  return { address: { case: 'pipe', value: { path } } };
}

export type ClusterEndpoint = Endpoint | { readonly pipe: string };

export interface ClusterInput {
  readonly name: string;
  readonly endpoints: readonly ClusterEndpoint[];
  readonly http2: boolean;
  readonly connectTimeoutMs: number;
  readonly transportSocket?: Init<typeof TransportSocketSchema>;
}

function needsDns(e: ClusterEndpoint): boolean {
  return 'address' in e && isIP(e.address) === 0;
}

export function discoveryType(endpoints: readonly ClusterEndpoint[]): Cluster_DiscoveryType {
  return endpoints.some(needsDns) ? Cluster_DiscoveryType.STRICT_DNS : Cluster_DiscoveryType.STATIC;
}

/** typed_extension_protocol_options of an HTTP/2 upstream. */
export const http2ProtocolOptions = once(() =>
  typed(HttpProtocolOptionsSchema, {
    upstreamProtocolOptions: { case: 'explicitHttpConfig', value: { protocolConfig: { case: 'http2ProtocolOptions', value: {} } } },
  }),
);

export function endpointCluster(input: ClusterInput): Init<typeof ClusterSchema> {
  return {
    name: input.name,
    clusterDiscoveryType: { case: 'type', value: discoveryType(input.endpoints) },
    connectTimeout: durationMs(input.connectTimeoutMs),
    loadAssignment: {
      clusterName: input.name,
      endpoints: [
        {
          lbEndpoints: input.endpoints.map((e) => ({
            hostIdentifier: {
              case: 'endpoint' as const,
              value: { address: 'pipe' in e ? pipeAddress(e.pipe) : socketAddress(e.address, e.port) },
            },
          })),
        },
      ],
    },
    typedExtensionProtocolOptions: input.http2 ? { [HTTP_PROTOCOL_OPTIONS_KEY]: http2ProtocolOptions() } : {},
    ...(input.transportSocket ? { transportSocket: input.transportSocket } : {}),
  };
}
