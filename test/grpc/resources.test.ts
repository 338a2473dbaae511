// The grpc target's resources: what each mode and dependency kind yields, that every resource parses strictly
// against Envoy's protos, and that @grpc/grpc-js-xds's own validation accepts them (it NACKs what it cannot use).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ListenerSchema } from '#gen/envoy/config/listener/v3/listener_pb';
import { ClusterSchema } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { buildNodeResources, buildServiceResources } from '../../src/envoy/resources.js';
import { EnvoyGenerateError } from '../../src/envoy/errors.js';
import { checkEnvoyBinary } from '../../src/envoy/strict.js';
import { GRPC_SERVER_CHAIN, serverListenerName } from '../../src/envoy/grpc/index.js';
import { asJson } from '../envoy/fixtures/json.js';
import { mesh, service } from '../envoy/fixtures/meshes.js';
import { grpcJsDecode } from './grpc-js-validate.js';

const MESH = `
trustDomain: example.org
federation:
  - trustDomain: partner.example.net
services:
  - name: client
    spiffeId: spiffe://example.org/client
    target: grpc
    outbound:
      - { service: server, port: 50051 }
      - { service: legacy }
  - name: server
    spiffeId: spiffe://example.org/server
    target: grpc
    address: 10.0.0.5
    inbound:
      - { port: 50051, appPort: 1, protocol: grpc, mode: STRICT }
      - { port: 50052, appPort: 2, protocol: grpc, mode: PERMISSIVE }
      - { port: 50061, appPort: 3, protocol: grpc, mode: DISABLE }
    allowedCallers:
      - service: client
      - trustDomain: partner.example.net
  - name: legacy
    spiffeId: spiffe://example.org/legacy
    target: grpc
    address: 10.0.0.9
    inbound:
      - { port: 50061, appPort: 3, protocol: grpc, mode: DISABLE }
  - name: closed
    spiffeId: spiffe://example.org/closed
    target: grpc
    address: 10.0.0.6
    inbound:
      - { port: 50071, appPort: 4, protocol: grpc }
    allowedCallers: []
  - name: caller
    spiffeId: spiffe://example.org/caller
    target: grpc
    outbound:
      - name: by-ip
        endpoints: [{ address: 10.0.0.7 }, { address: 10.0.0.8 }]
        port: 7000
        protocol: grpc
        spiffeIds: [spiffe://partner.example.net/api, spiffe://partner.example.net/api2]
      - { name: by-name, address: api.partner.example.net, port: 7001, protocol: grpc, mode: DISABLE }
`;

const m = mesh(MESH);

describe('grpc target: server listeners', () => {
  const server = service(m, 'server');
  const { listeners } = buildServiceResources(m, server);
  const cases: { mode: string; port: number; chain: 'mtls' | 'plaintext' }[] = [
    { mode: 'STRICT', port: 50051, chain: 'mtls' },
    { mode: 'PERMISSIVE (gRPC cannot sniff TLS: served as mTLS)', port: 50052, chain: 'mtls' },
    { mode: 'DISABLE', port: 50061, chain: 'plaintext' },
  ];
  for (const c of cases) {
    test(`${c.mode} → one ${c.chain} filter chain without a filter_chain_match`, () => {
      // No listenAddress in the description: loopback.
      const l = asJson(ListenerSchema, listeners.find((x) => x.name === serverListenerName('127.0.0.1', c.port))!);
      assert.deepEqual(l.address, { socket_address: { address: '127.0.0.1', port_value: c.port } });
      assert.equal(l.filter_chains.length, 1);
      const chain = l.filter_chains[0];
      assert.equal(chain.name, c.chain);
      assert.equal(chain.filter_chain_match, undefined);
      const hcm = chain.filters[0].typed_config;
      assert.deepEqual(hcm.route_config.virtual_hosts[0].routes, [{ match: { prefix: '/' }, non_forwarding_action: {} }]);
      const filters = hcm.http_filters.map((f: { name: string }) => f.name);
      if (c.chain === 'mtls') {
        assert.deepEqual(filters, ['envoy.filters.http.rbac', 'envoy.filters.http.router']);
        const tls = chain.transport_socket.typed_config;
        assert.equal(tls['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext');
        assert.equal(tls.require_client_certificate, true);
        assert.deepEqual(tls.common_tls_context, {
          validation_context: { ca_certificate_provider_instance: { instance_name: 'trustplane' } },
          tls_certificate_provider_instance: { instance_name: 'trustplane' },
        });
        assert.deepEqual(hcm.http_filters[0].typed_config.rules.policies['allowed-callers'].principals, [
          { authenticated: { principal_name: { exact: 'spiffe://example.org/client' } } },
          { and_ids: { ids: [{ authenticated: { principal_name: { prefix: 'spiffe://partner.example.net/' } } }, { not_id: { authenticated: { principal_name: { prefix: 'spiffe://partner.example.net/trustplane/' } } } }] } },
        ]);
        assert.equal(hcm.http_filters[0].is_optional, undefined, 'RBAC must not be optional: a gRPC without it must NACK, not admit everyone');
      } else {
        assert.deepEqual(filters, ['envoy.filters.http.router']);
        assert.equal(chain.transport_socket, undefined);
      }
    });
  }

  test('the mode table covers every mode', () => {
    assert.deepEqual(GRPC_SERVER_CHAIN, { STRICT: 'mtls', PERMISSIVE: 'mtls', DISABLE: 'plaintext' });
  });

  test('a server with an empty allow list gets ALLOW with no policy (denies everyone)', () => {
    const l = asJson(ListenerSchema, buildServiceResources(m, service(m, 'closed')).listeners[0]!);
    assert.deepEqual(l.filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.rules, {});
  });

  const names: { bind: string; name: string }[] = [
    { bind: '0.0.0.0', name: 'grpc/server?xds.resource.listening_address=0.0.0.0:50051' },
    { bind: '10.0.1.10', name: 'grpc/server?xds.resource.listening_address=10.0.1.10:50051' },
    { bind: '::', name: 'grpc/server?xds.resource.listening_address=[::]:50051' },
  ];
  for (const n of names) {
    test(`listenAddress ${n.bind} in the description: listener ${n.name}, socket_address ${n.bind}`, () => {
      const text = MESH.replace('      - { port: 50051, appPort: 1, protocol: grpc, mode: STRICT }', `      - { port: 50051, appPort: 1, protocol: grpc, mode: STRICT, listenAddress: "${n.bind}" }`);
      assert.notEqual(text, MESH);
      const mm = mesh(text);
      const l = asJson(ListenerSchema, buildServiceResources(mm, service(mm, 'server')).listeners[0]!);
      assert.equal(l.name, n.name);
      assert.equal(l.address.socket_address.address, n.bind);
    });
  }

  test("the generator's inboundBindAddress option (for Envoy proxies) does not move a gRPC server", () => {
    const l = asJson(ListenerSchema, buildServiceResources(m, server, { inboundBindAddress: '0.0.0.0' }).listeners[0]!);
    assert.equal(l.name, 'grpc/server?xds.resource.listening_address=127.0.0.1:50051');
  });
});

describe('grpc target: clients', () => {
  test('per dependency: api_listener named as dialled → RDS route → EDS cluster with exact server SAN → endpoints', () => {
    const r = buildServiceResources(m, service(m, 'client'));
    assert.deepEqual(r.listeners.map((l) => l.name), ['server', 'legacy']);
    const l = asJson(ListenerSchema, r.listeners[0]!);
    assert.deepEqual(l.api_listener.api_listener.rds, { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: 'outbound_server' });
    assert.deepEqual(r.routes!.map((x) => [x.name, (x.virtualHosts[0]!.routes[0]!.action.value as { clusterSpecifier: { value: string } }).clusterSpecifier.value]), [
      ['outbound_server', 'outbound_server'],
      ['outbound_legacy', 'outbound_legacy'],
    ]);
    const strict = asJson(ClusterSchema, r.clusters[0]!);
    assert.equal(strict.type, 'EDS');
    assert.deepEqual(strict.transport_socket.typed_config.common_tls_context.validation_context.match_subject_alt_names, [{ exact: 'spiffe://example.org/server' }]);
    assert.equal(asJson(ClusterSchema, r.clusters[1]!).transport_socket, undefined, 'a DISABLE server port is called in plaintext');
    assert.deepEqual(r.endpoints!.map((e) => e.endpoints[0]!.lbEndpoints.length), [1, 1]);
  });

  test('endpoints by IP → EDS with every address; one host name → LOGICAL_DNS, endpoints inline', () => {
    const r = buildServiceResources(m, service(m, 'caller'));
    const [byIp, byName] = r.clusters.map((c) => asJson(ClusterSchema, c));
    assert.equal(byIp!.type, 'EDS');
    assert.deepEqual(byIp!.transport_socket.typed_config.common_tls_context.validation_context.match_subject_alt_names, [
      { exact: 'spiffe://partner.example.net/api' },
      { exact: 'spiffe://partner.example.net/api2' },
    ]);
    assert.equal(byName!.type, 'LOGICAL_DNS');
    assert.equal(byName!.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address, 'api.partner.example.net');
    assert.deepEqual(r.endpoints!.map((e) => e.clusterName), ['outbound_by-ip']);
  });

  test('several host names cannot be one LOGICAL_DNS cluster: GRPC_DNS_ENDPOINTS', () => {
    const bad = mesh(`
trustDomain: example.org
services:
  - name: c
    spiffeId: spiffe://example.org/c
    target: grpc
    outbound:
      - { name: x, endpoints: [{ address: a.example }, { address: b.example }], port: 1, protocol: grpc, mode: DISABLE }
`);
    assert.throws(() => buildServiceResources(bad, service(bad, 'c')), (e: unknown) => e instanceof EnvoyGenerateError && e.code === 'GRPC_DNS_ENDPOINTS' && /c → x/.test(e.message));
  });
});

describe('grpc target: every resource is valid Envoy config and accepted by @grpc/grpc-js-xds', () => {
  for (const name of ['client', 'server', 'legacy', 'closed', 'caller']) {
    for (const r of buildNodeResources(m, service(m, name))) {
      test(`${name}: ${r.typeUrl.split('.').pop()} ${r.name}`, () => {
        checkEnvoyBinary(r.typeUrl, r.bytes, r.name);
        const decoded = grpcJsDecode(r.typeUrl, r.bytes);
        assert.equal(decoded.error, undefined, decoded.error);
        assert.equal(decoded.name, r.name);
      });
    }
  }

  test('a TLS context naming an instance the bootstrap lacks is NACKed (the check above can fail)', () => {
    const cluster = buildNodeResources(m, service(m, 'client')).find((r) => r.name === 'outbound_server' && r.typeUrl.endsWith('Cluster'))!;
    assert.match(grpcJsDecode(cluster.typeUrl, cluster.bytes, ['other']).error ?? '', /Unmatched .*instance_name: trustplane/);
  });
});
