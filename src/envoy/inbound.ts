// Inbound side of a sidecar: one listener per inbound port, and the local cluster of the application behind it.
//
// A listener per port (not one listener with a filter chain per destination_port): trustplane's sidecars bind
// the ports the description declares, without iptables interception, and a listener binds one address. Istio
// does the same for explicit Sidecar ingress ports (`0.0.0.0_<port>` listeners); its single virtualInbound
// listener with destination_port matches only exists because iptables redirects every port to it. A listener per
// port also puts the tls_inspector exactly where a chain matches TLS, keeps each port's stats apart, and lets a
// mode change of one port drain only that port's connections.
import type { ListenerSchema } from '#gen/envoy/config/listener/v3/listener_pb';
import type { FilterChainSchema, ListenerFilterSchema } from '#gen/envoy/config/listener/v3/listener_components_pb';
import { TrafficDirection } from '#gen/envoy/config/core/v3/base_pb';
import { TlsInspectorSchema } from '#gen/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector_pb';
import type { ClusterSchema } from '#gen/envoy/config/cluster/v3/cluster_pb';
import type { InboundPort, MeshModel, Service } from '../mesh/model.js';
import type { TrustDomain } from '../spiffe/trust-domain.js';
import { listenerAccessLogs } from './access-log.js';
import { appFilter, isHttpProtocol } from './app-filters.js';
import { endpointCluster, socketAddress } from './cluster.js';
import { filterChainRows, needsTlsInspector, type FilterChainRow } from './filter-chains.js';
import { jwtHttpParts } from './jwt-authn.js';
import { inboundListenerName, localClusterName } from './names.js';
import type { ResourceOptions } from './options.js';
import { rbacFilter } from './rbac.js';
import { validationSecretName } from './sds.js';
import { downstreamTlsSocket } from './tls.js';
import { lasting, memo, once } from './memo.js';
import { typed, type Init } from './typed.js';

export const TLS_INSPECTOR = 'envoy.filters.listener.tls_inspector';

/** ALPN the server offers: h2 and http/1.1 on HTTP ports so the HTTP codec follows the client; none for TCP. */
export const tlsInspector = once((): Init<typeof ListenerFilterSchema> => ({ name: TLS_INSPECTOR, configType: { case: 'typedConfig', value: typed(TlsInspectorSchema, {}) } }));

export function inboundAlpn(port: InboundPort): string[] {
  return isHttpProtocol(port.protocol) ? ['h2', 'http/1.1'] : [];
}

/**
 * Trust domains whose callers this service admits: their bundles are what the handshake must trust. With no
 * caller at all the own domain still anchors the handshake (RBAC then denies everyone).
 */
export function callerTrustDomains(mesh: MeshModel, service: Service): TrustDomain[] {
  const tds = [...service.allowedCallers.trustDomains, ...service.allowedCallers.spiffeIds.map((id) => id.trustDomain)];
  return tds.length ? tds : [mesh.trustDomain];
}

function filterChain(row: FilterChainRow, mesh: MeshModel, service: Service, port: InboundPort, opts: ResourceOptions): Init<typeof FilterChainSchema> {
  const name = inboundListenerName(port);
  const statPrefix = `${name}_${row.name}`;
  // A requireJwt port's filter depends on the service's callers and audiences: memoised per service.
  const jwt = port.requireJwt !== undefined && isHttpProtocol(port.protocol);
  const app = jwt
    ? memo(mesh, opts, `filter|${port.protocol}|${statPrefix}|${localClusterName(port)}|jwt|${service.name}`, () =>
        appFilter(port.protocol, statPrefix, localClusterName(port), jwtHttpParts(mesh, service, port, `${statPrefix}_jwt_`, opts)),
      )
    : // Without JWT checks, a function of the protocol and the two names alone: kept across reloads.
      lasting(mesh, opts, `filter|${port.protocol}|${statPrefix}|${localClusterName(port)}`, () => appFilter(port.protocol, statPrefix, localClusterName(port)));
  return {
    name: row.name,
    filterChainMatch: { transportProtocol: row.transportProtocol, applicationProtocols: [...row.applicationProtocols] },
    filters: row.mtls ? [rbacFilter(service.allowedCallers, `${name}_`), app] : [app],
    ...(row.mtls
      ? {
          transportSocket: downstreamTlsSocket({
            svidName: service.spiffeId.toString(),
            validationName: validationSecretName(callerTrustDomains(mesh, service)),
            peerSpiffeIds: [],
            alpn: inboundAlpn(port),
            policy: opts.sds,
          }),
        }
      : {}),
  };
}

export function inboundListener(mesh: MeshModel, service: Service, port: InboundPort, opts: ResourceOptions): Init<typeof ListenerSchema> {
  const rows = filterChainRows(port.mode);
  const name = inboundListenerName(port);
  return {
    name,
    address: socketAddress(opts.inboundBindAddress, port.port),
    statPrefix: name,
    trafficDirection: TrafficDirection.INBOUND,
    listenerFilters: needsTlsInspector(rows) ? [tlsInspector()] : [],
    filterChains: rows.map((row) => filterChain(row, mesh, service, port, opts)),
    // Every connection, whichever chain served it (or none), to trustplane: the STRICT gate's evidence.
    accessLog: listenerAccessLogs(mesh, { service: service.name, port: port.port, mode: port.mode }),
  };
}

/** Plaintext to the application on its own port; gRPC applications get HTTP/2 (h2c). */
export function localCluster(mesh: MeshModel, port: InboundPort, opts: ResourceOptions): Init<typeof ClusterSchema> {
  const key = `local|${localClusterName(port)}|${port.appAddress}|${port.appPort}|${port.protocol}`;
  // A function of the key's parts and the options alone: kept across reloads.
  return lasting(mesh, opts, key, () => endpointCluster({
    name: localClusterName(port),
    endpoints: [{ address: port.appAddress, port: port.appPort }],
    http2: port.protocol === 'grpc',
    connectTimeoutMs: opts.connectTimeoutMs,
  }));
}
