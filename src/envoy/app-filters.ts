// The terminal network filter of a chain, by protocol: HTTP and gRPC go through an http_connection_manager with
// a router to one cluster (so Envoy's HTTP stats, retries and access logs apply), TCP through tcp_proxy.
// Routes are inline: one virtual host, one catch-all route, nothing that would earn a separate RDS resource.
import type { FilterSchema } from '#gen/envoy/config/listener/v3/listener_components_pb';
import { HttpConnectionManagerSchema, HttpConnectionManager_CodecType, type HttpFilterSchema } from '#gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb';
import { RouterSchema } from '#gen/envoy/extensions/filters/http/router/v3/router_pb';
import { TcpProxySchema } from '#gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb';
import type { RouteConfigurationSchema } from '#gen/envoy/config/route/v3/route_pb';
import type { Protocol } from '../mesh/model.js';
import type { JwtHttpParts } from './jwt-authn.js';
import { once } from './memo.js';
import { typed, type Init } from './typed.js';

export const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
export const TCP_PROXY_FILTER = 'envoy.filters.network.tcp_proxy';
export const ROUTER_FILTER = 'envoy.filters.http.router';

export const routerFilter = once((): Init<typeof HttpFilterSchema> => ({ name: ROUTER_FILTER, configType: { case: 'typedConfig', value: typed(RouterSchema, {}) } }));

export function isHttpProtocol(protocol: Protocol): boolean {
  return protocol === 'http' || protocol === 'grpc';
}

export function catchAllRoute(name: string, cluster: string, headers: JwtHttpParts['route'] = {}): Init<typeof RouteConfigurationSchema> {
  return {
    name,
    ...headers,
    virtualHosts: [
      {
        name,
        domains: ['*'],
        routes: [
          {
            match: { pathSpecifier: { case: 'prefix', value: '/' } },
            action: { case: 'route', value: { clusterSpecifier: { case: 'cluster', value: cluster } } },
          },
        ],
      },
    ],
  };
}

/**
 * The filter that hands a connection's traffic to `cluster`; `statPrefix` names its stats. `jwt`: the JWT-SVID
 * checks of a requireJwt port (jwt-authn.ts), before the router.
 */
export function appFilter(protocol: Protocol, statPrefix: string, cluster: string, jwt?: JwtHttpParts): Init<typeof FilterSchema> {
  const value = isHttpProtocol(protocol)
    ? typed(HttpConnectionManagerSchema, {
        statPrefix,
        // AUTO: HTTP/2 when ALPN says h2 or the connection starts with the HTTP/2 preface, else HTTP/1.1.
        codecType: HttpConnectionManager_CodecType.AUTO,
        routeSpecifier: { case: 'routeConfig', value: catchAllRoute(statPrefix, cluster, jwt?.route) },
        httpFilters: [...(jwt?.httpFilters ?? []), routerFilter()],
      })
    : typed(TcpProxySchema, { statPrefix, clusterSpecifier: { case: 'cluster', value: cluster } });
  return { name: isHttpProtocol(protocol) ? HCM_FILTER : TCP_PROXY_FILTER, configType: { case: 'typedConfig', value } };
}
