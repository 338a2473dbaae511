import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterSchema } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { ListenerSchema } from '#gen/envoy/config/listener/v3/listener_pb';
import { buildServiceResources } from '../../src/envoy/resources.js';
import { asJson, type J } from './fixtures/json.js';
import { mesh, MODES_MESH, service } from './fixtures/meshes.js';

const m = mesh(MODES_MESH);
const web = buildServiceResources(m, service(m, 'web'));
const cluster = (name: string): J => asJson(ClusterSchema, web.clusters.find((c) => c.name === name)!);
const tlsOf = (c: J): J => c.transport_socket.typed_config;

describe('outbound clusters', () => {
  test('mTLS to a STRICT grpc server: own SVID, server trust domain, exact URI SAN, ALPN h2, HTTP/2, SNI', () => {
    const c = cluster('outbound_api');
    const tls = tlsOf(c);
    assert.equal(tls['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
    assert.deepEqual(tls.common_tls_context.tls_certificate_sds_secret_configs.map((s: J) => s.name), ['spiffe://example.org/web']);
    const combined = tls.common_tls_context.combined_validation_context;
    assert.equal(combined.validation_context_sds_secret_config.name, 'spiffe://example.org');
    assert.deepEqual(combined.default_validation_context.match_typed_subject_alt_names, [
      { san_type: 'URI', matcher: { exact: 'spiffe://example.org/api' } },
    ]);
    assert.deepEqual(tls.common_tls_context.alpn_protocols, ['h2']);
    assert.equal(tls.sni, 'api');
    assert.ok(c.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config.http2_protocol_options);
    assert.equal(c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 9003);
  });

  test('an external server in a federated domain: one exact URI matcher per expected ID, that domain validates', () => {
    const tls = tlsOf(cluster('outbound_partner'));
    const combined = tls.common_tls_context.combined_validation_context;
    assert.equal(combined.validation_context_sds_secret_config.name, 'spiffe://partner.example.net');
    assert.deepEqual(combined.default_validation_context.match_typed_subject_alt_names.map((m: J) => [m.san_type, m.matcher]), [
      ['URI', { exact: 'spiffe://partner.example.net/api' }],
      ['URI', { exact: 'spiffe://partner.example.net/api-canary' }],
    ]);
    assert.equal(tls.common_tls_context.alpn_protocols, undefined, 'no ALPN for HTTP/1.1');
    assert.equal(tls.sni, 'api.partner.example.net');
  });

  test('plaintext to a DISABLE server: no transport socket', () => {
    const c = cluster('outbound_legacy');
    assert.equal(c.transport_socket, undefined);
    assert.equal(c.type, 'STRICT_DNS');
  });

  test('a DISABLE client calls even a PERMISSIVE server in plaintext', () => {
    const legacy = buildServiceResources(m, service(m, 'legacy'));
    const c = asJson(ClusterSchema, legacy.clusters.find((x) => x.name === 'outbound_api')!);
    assert.equal(c.transport_socket, undefined);
  });

  test('a listenPort gives the app a loopback listener to the dependency cluster', () => {
    const l = asJson(ListenerSchema, web.listeners.find((x) => x.name === 'outbound_api')!) as J;
    assert.deepEqual(l.address.socket_address, { address: '127.0.0.1', port_value: 15001 });
    assert.equal(l.traffic_direction, 'OUTBOUND');
    assert.equal(l.filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.cluster, 'outbound_api');
    assert.deepEqual(web.listeners.map((x) => x.name), ['outbound_api'], 'only dependencies with a listenPort get one');
  });
});
