// The gateway's external side: one listener per port, TLS terminated with the certificate from files (file-sds.ts)
// and HTTP routed to the gateway's dependencies, which it calls over mesh mTLS with its own SVID.
//
// Listener entries that share a port are told apart by the TLS server name (filter_chain_match.server_names,
// read by the tls_inspector); a port with a single entry matches any connection, so clients that send no SNI
// (or an IP-literal URL) still get its certificate.
//
// External clients are never asked for a certificate unless the entry names a clientCaFile: without a validation
// context Envoy sends no CertificateRequest at all. With one, the certificate is asked for and checked against
// those CAs, and required only when requireClientCertificate says so.
//
// HTTP settings are Envoy's edge recommendations (docs: "Configuring Envoy as an edge proxy"): the peer address
// is the client's (use_remote_address; X-Forwarded-For from outside is not trusted), paths are normalized and
// slashes merged before the prefix routes match (so /api/../admin cannot reach a route it does not match), escaped
// slashes are unescaped by redirect, headers with underscores are refused, and the Host's port is ignored when
// choosing the virtual host.
import { create } from '@bufbuild/protobuf';
import { ListenerSchema, type Listener } from '#gen/envoy/config/listener/v3/listener_pb';
import { FilterChainSchema, FilterSchema, type FilterChain } from '#gen/envoy/config/listener/v3/listener_components_pb';
import { TrafficDirection, TransportSocketSchema, type TransportSocket } from '#gen/envoy/config/core/v3/base_pb';
import { HttpProtocolOptions_HeadersWithUnderscoresAction } from '#gen/envoy/config/core/v3/protocol_pb';
import {
  HttpConnectionManagerSchema,
  HttpConnectionManager_CodecType,
  HttpConnectionManager_PathWithEscapedSlashesAction,
} from '#gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb';
import { DownstreamTlsContextSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/tls_pb';
import type { GatewayListener, Service } from '../../mesh/model.js';
import { HCM_FILTER, routerFilter } from '../app-filters.js';
import { socketAddress } from '../cluster.js';
import { tlsInspector } from '../inbound.js';
import type { ResourceOptions } from '../options.js';
import { TLS_TRANSPORT_SOCKET } from '../tls.js';
import { typed } from '../typed.js';
import { certificateSecretName, clientCaSecretName, fileSdsSecretConfig } from './file-sds.js';
import { gatewayRouteConfig, gatewayRouteConfigName } from './routes.js';

/** ALPN offered to external clients: HTTP/2 where the client can, else HTTP/1.1. */
export const GATEWAY_ALPN: readonly string[] = ['h2', 'http/1.1'];

export const gatewayListenerName = (port: number): string => `gateway_${port}`;


export function gatewayTlsSocket(entry: GatewayListener): TransportSocket {
  const { tls } = entry;
  const value = typed(DownstreamTlsContextSchema, {
    commonTlsContext: {
      alpnProtocols: [...GATEWAY_ALPN],
      tlsCertificateSdsSecretConfigs: [fileSdsSecretConfig(certificateSecretName(entry))],
      ...(tls.clientCaFile !== undefined
        ? { validationContextType: { case: 'validationContextSdsSecretConfig' as const, value: fileSdsSecretConfig(clientCaSecretName(entry)) } }
        : {}),
    },
    // Left unset (false) rather than written false, so a listener without client certificates reads as such.
    ...(tls.clientCaFile !== undefined && tls.requireClientCertificate ? { requireClientCertificate: true } : {}),
  });
  return create(TransportSocketSchema, { name: TLS_TRANSPORT_SOCKET, configType: { case: 'typedConfig', value } });
}

function httpFilter(service: Service, entry: GatewayListener) {
  return create(FilterSchema, {
    name: HCM_FILTER,
    configType: {
      case: 'typedConfig',
      value: typed(HttpConnectionManagerSchema, {
        statPrefix: gatewayRouteConfigName(entry),
        codecType: HttpConnectionManager_CodecType.AUTO,
        routeSpecifier: { case: 'routeConfig', value: gatewayRouteConfig(service, entry) },
        httpFilters: [routerFilter()],
        useRemoteAddress: true,
        normalizePath: true,
        mergeSlashes: true,
        pathWithEscapedSlashesAction: HttpConnectionManager_PathWithEscapedSlashesAction.UNESCAPE_AND_REDIRECT,
        stripPortMode: { case: 'stripAnyHostPort', value: true },
        commonHttpProtocolOptions: { headersWithUnderscoresAction: HttpProtocolOptions_HeadersWithUnderscoresAction.REJECT_REQUEST },
      }),
    },
  });
}

function filterChain(service: Service, entry: GatewayListener, byServerName: boolean): FilterChain {
  return create(FilterChainSchema, {
    name: gatewayRouteConfigName(entry),
    ...(byServerName ? { filterChainMatch: { serverNames: [...entry.hosts] } } : {}),
    filters: [httpFilter(service, entry)],
    transportSocket: gatewayTlsSocket(entry),
  });
}

/** One listener per gateway port, in order of first appearance. */
export function gatewayListeners(service: Service, opts: ResourceOptions): Listener[] {
  const byPort = new Map<number, GatewayListener[]>();
  for (const entry of service.gateway?.listeners ?? []) byPort.set(entry.port, [...(byPort.get(entry.port) ?? []), entry]);
  return [...byPort].map(([port, entries]) => {
    const byServerName = entries.length > 1;
    return create(ListenerSchema, {
      name: gatewayListenerName(port),
      address: socketAddress(opts.inboundBindAddress, port),
      statPrefix: gatewayListenerName(port),
      trafficDirection: TrafficDirection.INBOUND,
      listenerFilters: byServerName ? [tlsInspector()] : [],
      filterChains: entries.map((entry) => filterChain(service, entry, byServerName)),
    });
  });
}
