// HTTP routing of one gateway listener entry: a virtual host per host it serves, and in each the routes for that
// host, longest path prefix first. Envoy takes the first route that matches, so the order makes the most specific
// prefix win whatever order the description lists them in, and a reordered description changes no byte.
import { create } from '@bufbuild/protobuf';
import { RouteConfigurationSchema, type RouteConfiguration } from '#gen/envoy/config/route/v3/route_pb';
import type { GatewayListener, GatewayRoute, Service } from '../../mesh/model.js';
import { outboundClusterName } from '../names.js';
import { gatewayEntryName } from './file-sds.js';

/** Also the entry's filter chain name and HTTP stat prefix. */
export const gatewayRouteConfigName = (entry: GatewayListener): string => gatewayEntryName(entry);

function byPrefix(a: GatewayRoute, b: GatewayRoute): number {
  return b.pathPrefix.length - a.pathPrefix.length || (a.pathPrefix < b.pathPrefix ? -1 : a.pathPrefix > b.pathPrefix ? 1 : 0);
}

export function gatewayRouteConfig(service: Service, entry: GatewayListener): RouteConfiguration {
  const routes = service.gateway?.routes ?? [];
  const byName = new Map(service.outbound.map((d) => [d.name, d]));
  return create(RouteConfigurationSchema, {
    name: gatewayRouteConfigName(entry),
    // A host without routes gets no virtual host: Envoy answers 404 for it, as for a host it does not serve.
    virtualHosts: entry.hosts.flatMap((host) => {
      const mine = routes.filter((r) => r.host === host).sort(byPrefix);
      if (mine.length === 0) return [];
      return [
        {
          name: host,
          domains: [host],
          routes: mine.map((r) => ({
            name: `${r.dependency}${r.pathPrefix}`,
            match: { pathSpecifier: { case: 'prefix' as const, value: r.pathPrefix } },
            action: { case: 'route' as const, value: { clusterSpecifier: { case: 'cluster' as const, value: outboundClusterName(byName.get(r.dependency)!) } } },
          })),
        },
      ];
    }),
  });
}
