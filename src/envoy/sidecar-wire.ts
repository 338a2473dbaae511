// The sidecar's listeners and clusters written straight to protobuf bytes: what `serve` caches and sends. The
// message builders (inbound.ts, outbound.ts, cluster.ts, tls.ts, rbac.ts, app-filters.ts) stay the definition of
// what is generated, and every decision (names, modes, ALPN, validation secret, SAN and RBAC lists, cluster type)
// is taken by the same functions here; this module only replaces create() + toBinary, which cost ~5x the
// generation itself at 10,000 services (bench/generate.ts). Constant pieces (tls_inspector, router, HTTP/2
// options, sds_config, connect_timeout) are the builders' own messages encoded once. Fields are written in field
// number order, the order toBinary uses; test/envoy/wire.test.ts proves the bytes equal
// toBinary(buildServiceResources(...)) for every example mesh and for randomized meshes.
import { toBinary, type DescMessage } from '@bufbuild/protobuf';
import { AnySchema, DurationSchema } from '@bufbuild/protobuf/wkt';
import { ListenerSchema } from '#gen/envoy/config/listener/v3/listener_pb';
import { FilterChainMatchSchema, FilterChainSchema, FilterSchema, ListenerFilterSchema } from '#gen/envoy/config/listener/v3/listener_components_pb';
import { ClusterSchema } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { AddressSchema, PipeSchema, SocketAddressSchema } from '#gen/envoy/config/core/v3/address_pb';
import { TrafficDirection, TransportSocketSchema } from '#gen/envoy/config/core/v3/base_pb';
import { ClusterLoadAssignmentSchema } from '#gen/envoy/config/endpoint/v3/endpoint_pb';
import { EndpointSchema, LbEndpointSchema, LocalityLbEndpointsSchema } from '#gen/envoy/config/endpoint/v3/endpoint_components_pb';
import { CommonTlsContext_CombinedCertificateValidationContextSchema, CommonTlsContextSchema, DownstreamTlsContextSchema, UpstreamTlsContextSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/tls_pb';
import { CertificateValidationContextSchema, SubjectAltNameMatcher_SanType, SubjectAltNameMatcherSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/common_pb';
import { SdsSecretConfigSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/secret_pb';
import { PermissionSchema, PolicySchema, Principal_AuthenticatedSchema, Principal_SetSchema, PrincipalSchema, RBAC_Action, RBACSchema } from '#gen/envoy/config/rbac/v3/rbac_pb';
import { RBACSchema as NetworkRbacSchema } from '#gen/envoy/extensions/filters/network/rbac/v3/rbac_pb';
import { HttpConnectionManager_CodecType, HttpConnectionManagerSchema, HttpFilterSchema } from '#gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb';
import { TcpProxySchema } from '#gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb';
import { RouteConfigurationSchema } from '#gen/envoy/config/route/v3/route_pb';
import { RouteActionSchema, RouteMatchSchema, RouteSchema, VirtualHostSchema } from '#gen/envoy/config/route/v3/route_components_pb';
import { StringMatcherSchema } from '#gen/envoy/type/matcher/v3/string_pb';
import type { InboundPort, MeshModel, Outbound, Protocol, Service } from '../mesh/model.js';
import { HCM_FILTER, isHttpProtocol, routerFilter, TCP_PROXY_FILTER } from './app-filters.js';
import { discoveryType, HTTP_PROTOCOL_OPTIONS_KEY, http2ProtocolOptions, type ClusterEndpoint } from './cluster.js';
import { filterChainRows, needsTlsInspector, type FilterChainRow } from './filter-chains.js';
import { callerTrustDomains, inboundAlpn, tlsInspector } from './inbound.js';
import { inboundListenerName, localClusterName, outboundClusterName, outboundListenerName } from './names.js';
import type { ResourceOptions } from './options.js';
import { outboundAlpn, outboundSni, requireServerIds, usesMtls } from './outbound.js';
import { ALLOWED_CALLERS_POLICY, callerPatterns, infrastructurePrefix, NETWORK_RBAC_FILTER } from './rbac.js';
import { isValidationSecretName, sdsConfigField, validationSecretName, type SdsPolicy } from './sds.js';
import { sanMatcherIds, TLS_TRANSPORT_SOCKET } from './tls.js';
import { durationMs } from './typed.js';
import { fieldBytes, fieldNo, typeUrlOf, WireWriter } from './wire.js';

const LISTENER = {
  name: fieldNo(ListenerSchema, 'name'),
  address: fieldNo(ListenerSchema, 'address'),
  filterChains: fieldNo(ListenerSchema, 'filterChains'),
  listenerFilters: fieldNo(ListenerSchema, 'listenerFilters'),
  trafficDirection: fieldNo(ListenerSchema, 'trafficDirection'),
  statPrefix: fieldNo(ListenerSchema, 'statPrefix'),
};
const CHAIN = {
  filterChainMatch: fieldNo(FilterChainSchema, 'filterChainMatch'),
  filters: fieldNo(FilterChainSchema, 'filters'),
  transportSocket: fieldNo(FilterChainSchema, 'transportSocket'),
  name: fieldNo(FilterChainSchema, 'name'),
};
const CHAIN_MATCH = {
  transportProtocol: fieldNo(FilterChainMatchSchema, 'transportProtocol'),
  applicationProtocols: fieldNo(FilterChainMatchSchema, 'applicationProtocols'),
};
const FILTER = { name: fieldNo(FilterSchema, 'name'), typedConfig: fieldNo(FilterSchema, 'typedConfig') };
const ANY = { typeUrl: fieldNo(AnySchema, 'typeUrl'), value: fieldNo(AnySchema, 'value') };
const ADDRESS = { socketAddress: fieldNo(AddressSchema, 'socketAddress'), pipe: fieldNo(AddressSchema, 'pipe') };
const SOCKET_ADDRESS = { address: fieldNo(SocketAddressSchema, 'address'), portValue: fieldNo(SocketAddressSchema, 'portValue') };
const PIPE_PATH = fieldNo(PipeSchema, 'path');
const CLUSTER = {
  name: fieldNo(ClusterSchema, 'name'),
  type: fieldNo(ClusterSchema, 'type'),
  connectTimeout: fieldNo(ClusterSchema, 'connectTimeout'),
  transportSocket: fieldNo(ClusterSchema, 'transportSocket'),
  loadAssignment: fieldNo(ClusterSchema, 'loadAssignment'),
  typedExtensionProtocolOptions: fieldNo(ClusterSchema, 'typedExtensionProtocolOptions'),
};
const LOAD_ASSIGNMENT = { clusterName: fieldNo(ClusterLoadAssignmentSchema, 'clusterName'), endpoints: fieldNo(ClusterLoadAssignmentSchema, 'endpoints') };
const LB_ENDPOINTS = fieldNo(LocalityLbEndpointsSchema, 'lbEndpoints');
const LB_ENDPOINT_ENDPOINT = fieldNo(LbEndpointSchema, 'endpoint');
const ENDPOINT_ADDRESS = fieldNo(EndpointSchema, 'address');
const TRANSPORT_SOCKET = { name: fieldNo(TransportSocketSchema, 'name'), typedConfig: fieldNo(TransportSocketSchema, 'typedConfig') };
const DOWNSTREAM = {
  commonTlsContext: fieldNo(DownstreamTlsContextSchema, 'commonTlsContext'),
  requireClientCertificate: fieldNo(DownstreamTlsContextSchema, 'requireClientCertificate'),
};
const UPSTREAM = { commonTlsContext: fieldNo(UpstreamTlsContextSchema, 'commonTlsContext'), sni: fieldNo(UpstreamTlsContextSchema, 'sni') };
const COMMON_TLS = {
  alpnProtocols: fieldNo(CommonTlsContextSchema, 'alpnProtocols'),
  tlsCertificateSdsSecretConfigs: fieldNo(CommonTlsContextSchema, 'tlsCertificateSdsSecretConfigs'),
  combinedValidationContext: fieldNo(CommonTlsContextSchema, 'combinedValidationContext'),
};
const COMBINED = {
  defaultValidationContext: fieldNo(CommonTlsContext_CombinedCertificateValidationContextSchema, 'defaultValidationContext'),
  validationContextSdsSecretConfig: fieldNo(CommonTlsContext_CombinedCertificateValidationContextSchema, 'validationContextSdsSecretConfig'),
};
const MATCH_TYPED_SANS = fieldNo(CertificateValidationContextSchema, 'matchTypedSubjectAltNames');
const SAN = { sanType: fieldNo(SubjectAltNameMatcherSchema, 'sanType'), matcher: fieldNo(SubjectAltNameMatcherSchema, 'matcher') };
const STRING_MATCHER = { exact: fieldNo(StringMatcherSchema, 'exact'), prefix: fieldNo(StringMatcherSchema, 'prefix') };
const SDS_NAME = fieldNo(SdsSecretConfigSchema, 'name');
const NETWORK_RBAC = { rules: fieldNo(NetworkRbacSchema, 'rules'), statPrefix: fieldNo(NetworkRbacSchema, 'statPrefix') };
const RBAC = { action: fieldNo(RBACSchema, 'action'), policies: fieldNo(RBACSchema, 'policies') };
const POLICY = { permissions: fieldNo(PolicySchema, 'permissions'), principals: fieldNo(PolicySchema, 'principals') };
const PERMISSION_ANY = fieldNo(PermissionSchema, 'any');
const PRINCIPAL_AUTHENTICATED = fieldNo(PrincipalSchema, 'authenticated');
const PRINCIPAL_AND_IDS = fieldNo(PrincipalSchema, 'andIds');
const PRINCIPAL_NOT_ID = fieldNo(PrincipalSchema, 'notId');
const PRINCIPAL_SET_IDS = fieldNo(Principal_SetSchema, 'ids');
const PRINCIPAL_NAME = fieldNo(Principal_AuthenticatedSchema, 'principalName');
const HCM = {
  codecType: fieldNo(HttpConnectionManagerSchema, 'codecType'),
  statPrefix: fieldNo(HttpConnectionManagerSchema, 'statPrefix'),
  routeConfig: fieldNo(HttpConnectionManagerSchema, 'routeConfig'),
  httpFilters: fieldNo(HttpConnectionManagerSchema, 'httpFilters'),
};
const TCP_PROXY = { statPrefix: fieldNo(TcpProxySchema, 'statPrefix'), cluster: fieldNo(TcpProxySchema, 'cluster') };
const ROUTE_CONFIG = { name: fieldNo(RouteConfigurationSchema, 'name'), virtualHosts: fieldNo(RouteConfigurationSchema, 'virtualHosts') };
const VIRTUAL_HOST = { name: fieldNo(VirtualHostSchema, 'name'), domains: fieldNo(VirtualHostSchema, 'domains'), routes: fieldNo(VirtualHostSchema, 'routes') };
const ROUTE = { match: fieldNo(RouteSchema, 'match'), route: fieldNo(RouteSchema, 'route') };
const ROUTE_MATCH_PREFIX = fieldNo(RouteMatchSchema, 'prefix');
const ROUTE_ACTION_CLUSTER = fieldNo(RouteActionSchema, 'cluster');
// Map entries: key 1, value 2 (protobuf's map encoding).
const MAP_KEY = 1;
const MAP_VALUE = 2;

/** The Any.type_url field of `schema`, encoded once. */
const typeUrlFields = new WeakMap<DescMessage, Uint8Array>();
function typeUrlField(schema: DescMessage): Uint8Array {
  let b = typeUrlFields.get(schema);
  if (!b) {
    const w = new WireWriter(256);
    typeUrlFields.set(schema, (b = w.stringAlways(ANY.typeUrl, typeUrlOf(schema)).finish()));
  }
  return b;
}

// Constant pieces: the builders' own messages, encoded once per process.
let constants: { tlsInspector: Uint8Array; router: Uint8Array; http2Options: Uint8Array } | undefined;
function constant() {
  return (constants ??= {
    tlsInspector: fieldBytes(LISTENER.listenerFilters, toBinary(ListenerFilterSchema, tlsInspector())),
    router: fieldBytes(HCM.httpFilters, toBinary(HttpFilterSchema, routerFilter())),
    http2Options: (() => {
      const w = new WireWriter(256);
      w.begin(CLUSTER.typedExtensionProtocolOptions).stringAlways(MAP_KEY, HTTP_PROTOCOL_OPTIONS_KEY);
      w.tag(MAP_VALUE, 2).bytesAlways(toBinary(AnySchema, http2ProtocolOptions()));
      return w.end().finish();
    })(),
  });
}

const connectTimeouts = new Map<number, Uint8Array>();
function connectTimeoutField(ms: number): Uint8Array {
  let b = connectTimeouts.get(ms);
  if (!b) connectTimeouts.set(ms, (b = fieldBytes(CLUSTER.connectTimeout, toBinary(DurationSchema, durationMs(ms)))));
  return b;
}

function enumField(w: WireWriter, no: number, value: number): void {
  if (value !== 0) w.uint(no, value);
}

/** Opens an Any field holding `schema`; close with endAny(w, mark). */
function beginAny(w: WireWriter, no: number, schema: DescMessage): number {
  w.begin(no).raw(typeUrlField(schema));
  const mark = w.position;
  w.begin(ANY.value);
  return mark;
}

function endAny(w: WireWriter, mark: number): void {
  w.endImplicit(mark).end();
}

function socketAddress(w: WireWriter, no: number, address: string, port: number): void {
  w.begin(no).begin(ADDRESS.socketAddress).string(SOCKET_ADDRESS.address, address).uint(SOCKET_ADDRESS.portValue, port).end().end();
}

function sdsSecretConfig(w: WireWriter, no: number, name: string, policy: SdsPolicy): void {
  w.begin(no).string(SDS_NAME, name).raw(sdsConfigField(policy, isValidationSecretName(name))).end();
}

function stringMatcher(w: WireWriter, no: number, kind: 'exact' | 'prefix', value: string): void {
  w.begin(no).stringAlways(STRING_MATCHER[kind], value).end();
}

interface TlsInput {
  readonly svidName: string;
  readonly validationName: string;
  readonly sanIds: readonly string[];
  readonly alpn: readonly string[];
  readonly policy: SdsPolicy;
}

function commonTlsContext(w: WireWriter, no: number, t: TlsInput): void {
  w.begin(no);
  for (const p of t.alpn) w.stringAlways(COMMON_TLS.alpnProtocols, p);
  sdsSecretConfig(w, COMMON_TLS.tlsCertificateSdsSecretConfigs, t.svidName, t.policy);
  w.begin(COMMON_TLS.combinedValidationContext).begin(COMBINED.defaultValidationContext);
  for (const id of t.sanIds) {
    w.begin(MATCH_TYPED_SANS);
    enumField(w, SAN.sanType, SubjectAltNameMatcher_SanType.URI);
    stringMatcher(w, SAN.matcher, 'exact', id);
    w.end();
  }
  w.end();
  sdsSecretConfig(w, COMBINED.validationContextSdsSecretConfig, t.validationName, t.policy);
  w.end().end();
}

function downstreamTlsSocket(w: WireWriter, no: number, t: TlsInput): void {
  w.begin(no).string(TRANSPORT_SOCKET.name, TLS_TRANSPORT_SOCKET);
  const any = beginAny(w, TRANSPORT_SOCKET.typedConfig, DownstreamTlsContextSchema);
  commonTlsContext(w, DOWNSTREAM.commonTlsContext, t);
  // google.protobuf.BoolValue{value: true}
  w.begin(DOWNSTREAM.requireClientCertificate).uint(1, 1).end();
  endAny(w, any);
  w.end();
}

function upstreamTlsSocket(w: WireWriter, no: number, t: TlsInput & { readonly sni: string }): void {
  w.begin(no).string(TRANSPORT_SOCKET.name, TLS_TRANSPORT_SOCKET);
  const any = beginAny(w, TRANSPORT_SOCKET.typedConfig, UpstreamTlsContextSchema);
  commonTlsContext(w, UPSTREAM.commonTlsContext, t);
  w.string(UPSTREAM.sni, t.sni);
  endAny(w, any);
  w.end();
}

function rbacFilter(w: WireWriter, no: number, service: Service, statPrefix: string): void {
  const { exact, prefix } = callerPatterns(service.allowedCallers);
  w.begin(no).string(FILTER.name, NETWORK_RBAC_FILTER);
  const any = beginAny(w, FILTER.typedConfig, NetworkRbacSchema);
  w.begin(NETWORK_RBAC.rules);
  enumField(w, RBAC.action, RBAC_Action.ALLOW);
  if (exact.length + prefix.length > 0) {
    w.begin(RBAC.policies).stringAlways(MAP_KEY, ALLOWED_CALLERS_POLICY).begin(MAP_VALUE);
    w.begin(POLICY.permissions).uint(PERMISSION_ANY, 1).end();
    for (const value of exact) principal(w, 'exact', value);
    for (const value of prefix) memberPrincipal(w, value);
    w.end().end();
  }
  w.end();
  w.string(NETWORK_RBAC.statPrefix, statPrefix);
  endAny(w, any);
  w.end();
}

function principal(w: WireWriter, kind: 'exact' | 'prefix', value: string): void {
  w.begin(POLICY.principals).begin(PRINCIPAL_AUTHENTICATED);
  stringMatcher(w, PRINCIPAL_NAME, kind, value);
  w.end().end();
}

/** rbac.ts memberPrincipal: and_ids [prefix, not_id prefix+"trustplane/"]. */
function memberPrincipal(w: WireWriter, prefix: string): void {
  w.begin(POLICY.principals).begin(PRINCIPAL_AND_IDS);
  w.begin(PRINCIPAL_SET_IDS).begin(PRINCIPAL_AUTHENTICATED);
  stringMatcher(w, PRINCIPAL_NAME, 'prefix', prefix);
  w.end().end();
  w.begin(PRINCIPAL_SET_IDS).begin(PRINCIPAL_NOT_ID).begin(PRINCIPAL_AUTHENTICATED);
  stringMatcher(w, PRINCIPAL_NAME, 'prefix', infrastructurePrefix(prefix));
  w.end().end().end();
  w.end().end();
}

function appFilter(w: WireWriter, no: number, protocol: Protocol, statPrefix: string, cluster: string): void {
  w.begin(no);
  if (isHttpProtocol(protocol)) {
    w.string(FILTER.name, HCM_FILTER);
    const any = beginAny(w, FILTER.typedConfig, HttpConnectionManagerSchema);
    enumField(w, HCM.codecType, HttpConnectionManager_CodecType.AUTO);
    w.string(HCM.statPrefix, statPrefix);
    // catchAllRoute(statPrefix, cluster)
    w.begin(HCM.routeConfig).string(ROUTE_CONFIG.name, statPrefix);
    w.begin(ROUTE_CONFIG.virtualHosts).string(VIRTUAL_HOST.name, statPrefix).stringAlways(VIRTUAL_HOST.domains, '*');
    w.begin(VIRTUAL_HOST.routes);
    w.begin(ROUTE.match).stringAlways(ROUTE_MATCH_PREFIX, '/').end();
    w.begin(ROUTE.route).stringAlways(ROUTE_ACTION_CLUSTER, cluster).end();
    w.end().end().end();
    w.raw(constant().router);
    endAny(w, any);
  } else {
    w.string(FILTER.name, TCP_PROXY_FILTER);
    const any = beginAny(w, FILTER.typedConfig, TcpProxySchema);
    w.string(TCP_PROXY.statPrefix, statPrefix).stringAlways(TCP_PROXY.cluster, cluster);
    endAny(w, any);
  }
  w.end();
}

function filterChain(w: WireWriter, row: FilterChainRow, service: Service, port: InboundPort, validationName: string, opts: ResourceOptions): void {
  const name = inboundListenerName(port);
  w.begin(LISTENER.filterChains);
  w.begin(CHAIN.filterChainMatch).string(CHAIN_MATCH.transportProtocol, row.transportProtocol);
  for (const p of row.applicationProtocols) w.stringAlways(CHAIN_MATCH.applicationProtocols, p);
  w.end();
  if (row.mtls) rbacFilter(w, CHAIN.filters, service, `${name}_`);
  appFilter(w, CHAIN.filters, port.protocol, `${name}_${row.name}`, localClusterName(port));
  if (row.mtls) {
    downstreamTlsSocket(w, CHAIN.transportSocket, {
      svidName: service.spiffeId.toString(),
      validationName,
      sanIds: [],
      alpn: inboundAlpn(port),
      policy: opts.sds,
    });
  }
  w.string(CHAIN.name, row.name);
  w.end();
}

function inboundListener(w: WireWriter, mesh: MeshModel, service: Service, port: InboundPort, opts: ResourceOptions): Uint8Array {
  const rows = filterChainRows(port.mode);
  const name = inboundListenerName(port);
  const validationName = rows.some((r) => r.mtls) ? validationSecretName(callerTrustDomains(mesh, service)) : '';
  w.string(LISTENER.name, name);
  socketAddress(w, LISTENER.address, opts.inboundBindAddress, port.port);
  for (const row of rows) filterChain(w, row, service, port, validationName, opts);
  if (needsTlsInspector(rows)) w.raw(constant().tlsInspector);
  enumField(w, LISTENER.trafficDirection, TrafficDirection.INBOUND);
  w.string(LISTENER.statPrefix, name);
  return w.finish();
}

function endpointCluster(w: WireWriter, name: string, endpoints: readonly ClusterEndpoint[], http2: boolean, opts: ResourceOptions, tls?: TlsInput & { readonly sni: string }): Uint8Array {
  w.string(CLUSTER.name, name).uint(CLUSTER.type, discoveryType(endpoints));
  w.raw(connectTimeoutField(opts.connectTimeoutMs));
  if (tls) upstreamTlsSocket(w, CLUSTER.transportSocket, tls);
  w.begin(CLUSTER.loadAssignment).string(LOAD_ASSIGNMENT.clusterName, name);
  w.begin(LOAD_ASSIGNMENT.endpoints);
  for (const e of endpoints) {
    w.begin(LB_ENDPOINTS).begin(LB_ENDPOINT_ENDPOINT).begin(ENDPOINT_ADDRESS);
    if ('pipe' in e) w.begin(ADDRESS.pipe).string(PIPE_PATH, e.pipe).end();
    else w.begin(ADDRESS.socketAddress).string(SOCKET_ADDRESS.address, e.address).uint(SOCKET_ADDRESS.portValue, e.port).end();
    w.end().end().end();
  }
  w.end().end();
  if (http2) w.raw(constant().http2Options);
  return w.finish();
}

function localCluster(w: WireWriter, port: InboundPort, opts: ResourceOptions): Uint8Array {
  return endpointCluster(w, localClusterName(port), [{ address: port.appAddress, port: port.appPort }], port.protocol === 'grpc', opts);
}

function outboundCluster(w: WireWriter, service: Service, dep: Outbound, opts: ResourceOptions): Uint8Array {
  let tls: (TlsInput & { readonly sni: string }) | undefined;
  if (usesMtls(service, dep)) {
    requireServerIds(service, dep);
    tls = {
      svidName: service.spiffeId.toString(),
      validationName: validationSecretName(dep.spiffeIds.map((id) => id.trustDomain)),
      sanIds: sanMatcherIds(dep.spiffeIds),
      alpn: outboundAlpn(dep),
      sni: outboundSni(dep),
      policy: opts.sds,
    };
  }
  return endpointCluster(w, outboundClusterName(dep), dep.endpoints, dep.protocol === 'grpc', opts, tls);
}

function outboundListener(w: WireWriter, dep: Outbound, listenPort: number, opts: ResourceOptions): Uint8Array {
  const name = outboundListenerName(dep);
  w.string(LISTENER.name, name);
  socketAddress(w, LISTENER.address, opts.outboundBindAddress, listenPort);
  w.begin(LISTENER.filterChains);
  appFilter(w, CHAIN.filters, dep.protocol, name, outboundClusterName(dep));
  w.string(CHAIN.name, 'app');
  w.end();
  enumField(w, LISTENER.trafficDirection, TrafficDirection.OUTBOUND);
  w.string(LISTENER.statPrefix, name);
  return w.finish();
}

export interface EncodedResource {
  readonly name: string;
  readonly bytes: Uint8Array;
}

const writer = new WireWriter();

/** The encoded resources of sidecarResources (resources.ts), in the same order. */
export function sidecarWire(mesh: MeshModel, service: Service, opts: ResourceOptions): { listeners: EncodedResource[]; clusters: EncodedResource[] } {
  const w = writer;
  w.reset();
  const listeners: EncodedResource[] = [];
  const clusters: EncodedResource[] = [];
  for (const port of service.inbound) listeners.push({ name: inboundListenerName(port), bytes: inboundListener(w, mesh, service, port, opts) });
  for (const port of service.inbound) clusters.push({ name: localClusterName(port), bytes: localCluster(w, port, opts) });
  for (const dep of service.outbound) {
    clusters.push({ name: outboundClusterName(dep), bytes: outboundCluster(w, service, dep, opts) });
    if (dep.listenPort !== undefined) listeners.push({ name: outboundListenerName(dep), bytes: outboundListener(w, dep, dep.listenPort, opts) });
  }
  return { listeners, clusters };
}
