import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ListenerSchema } from '#gen/envoy/config/listener/v3/listener_pb';
import { buildServiceResources } from '../../src/envoy/resources.js';
import { FILTER_CHAIN_TABLE, filterChainRows } from '../../src/envoy/filter-chains.js';
import { asJson, type J } from './fixtures/json.js';
import { mesh, MODES_MESH, service } from './fixtures/meshes.js';

const m = mesh(MODES_MESH);
const listeners = buildServiceResources(m, service(m, 'api')).listeners.map((l) => asJson(ListenerSchema, l));
const byPort = (port: number): J => listeners.find((l) => l.address.socket_address.port_value === port)!;

describe('inbound mode table', () => {
  test('STRICT is the table without plaintext rows, DISABLE only raw_buffer rows', () => {
    const plain = FILTER_CHAIN_TABLE.filter((r) => r.transportProtocol === 'raw_buffer');
    assert.deepEqual(filterChainRows('STRICT'), FILTER_CHAIN_TABLE.filter((r) => !plain.includes(r)));
    assert.deepEqual(filterChainRows('DISABLE'), plain);
    assert.deepEqual(filterChainRows('PERMISSIVE'), FILTER_CHAIN_TABLE);
  });

  const cases: Array<[string, number, Array<[string, string]>, boolean]> = [
    ['DISABLE http port: one plaintext chain, no tls_inspector', 9001, [['plaintext', 'raw_buffer']], false],
    ['PERMISSIVE tcp port: mTLS and plaintext chains behind a tls_inspector', 9002, [['mtls', 'tls'], ['plaintext', 'raw_buffer']], true],
    ['STRICT grpc port: only the mTLS chain, with tls_inspector', 9003, [['mtls', 'tls']], true],
  ];
  for (const [name, port, chains, inspector] of cases) {
    test(name, () => {
      const l = byPort(port);
      assert.equal(l.name, `inbound_${port}`);
      assert.equal(l.traffic_direction, 'INBOUND');
      assert.deepEqual(l.filter_chains.map((c: J) => [c.name, c.filter_chain_match.transport_protocol]), chains);
      assert.deepEqual((l.listener_filters ?? []).map((f: J) => f.name), inspector ? ['envoy.filters.listener.tls_inspector'] : []);
    });
  }

  test('mTLS chains require a client certificate and carry the SVID and validation context by SDS', () => {
    const chain = byPort(9003).filter_chains[0];
    const tls = chain.transport_socket.typed_config;
    assert.equal(tls['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext');
    assert.equal(tls.require_client_certificate, true);
    assert.deepEqual(tls.common_tls_context.tls_certificate_sds_secret_configs.map((s: J) => s.name), ['spiffe://example.org/api']);
    // Callers span example.org and partner.example.net: one context holding both, checked per peer domain.
    assert.equal(tls.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name, 'ALL');
    assert.deepEqual(tls.common_tls_context.alpn_protocols, ['h2', 'http/1.1']);
  });

  test('every mTLS chain starts with network RBAC; plaintext chains have none', () => {
    for (const l of listeners) {
      for (const c of l.filter_chains) {
        const names = c.filters.map((f: J) => f.name);
        if (c.name === 'mtls') assert.equal(names[0], 'envoy.filters.network.rbac', `${l.name} ${c.name}`);
        else assert.ok(!names.includes('envoy.filters.network.rbac'), `${l.name} ${c.name}`);
      }
    }
  });

  test('http and grpc ports terminate in an HTTP connection manager, tcp in tcp_proxy, to the local app cluster', () => {
    const last = (port: number) => byPort(port).filter_chains[0].filters.at(-1);
    assert.equal(last(9001).name, 'envoy.filters.network.http_connection_manager');
    assert.equal(last(9001).typed_config.route_config.virtual_hosts[0].routes[0].route.cluster, 'inbound_9001_app');
    assert.equal(last(9002).name, 'envoy.filters.network.tcp_proxy');
    assert.equal(last(9002).typed_config.cluster, 'inbound_9002_app');
    assert.equal(last(9003).name, 'envoy.filters.network.http_connection_manager');
  });
});
