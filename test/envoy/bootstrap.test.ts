import assert from 'node:assert/strict';
import { resourceOptions } from '../../src/envoy/options.js';
import { describe, test } from 'node:test';
import { BootstrapSchema } from '#gen/envoy/config/bootstrap/v3/bootstrap_pb';
import { buildBootstrap, tcpXdsEndpoint } from '../../src/envoy/bootstrap.js';
import { asJson, type J } from './fixtures/json.js';
import { mesh, MODES_MESH, service } from './fixtures/meshes.js';

const m = mesh(MODES_MESH);
const api = service(m, 'api');
const boot = (opts: Parameters<typeof buildBootstrap>[2] = {}): J => asJson(BootstrapSchema, buildBootstrap(m, api, opts));
const xdsCluster = (b: J): J => b.static_resources.clusters.find((c: J) => c.name === 'trustplane');

describe('bootstrap', () => {
  test('node.cluster is the service name (the xDS server maps nodes by it); node.id defaults to it', () => {
    assert.deepEqual(boot().node, { id: 'api', cluster: 'api' });
    assert.deepEqual(boot({ nodeId: 'api-7f9c' }).node, { id: 'api-7f9c', cluster: 'api' });
  });

  test('admin listens on localhost only', () => {
    assert.deepEqual(boot().admin.address.socket_address, { address: '127.0.0.1', port_value: 15000 });
  });

  test('dynamic: listeners and clusters over ADS to the trustplane cluster on a Unix socket, over HTTP/2', () => {
    const b = boot();
    assert.deepEqual(b.dynamic_resources.lds_config, { ads: {}, resource_api_version: 'V3' });
    assert.deepEqual(b.dynamic_resources.cds_config, { ads: {}, resource_api_version: 'V3' });
    assert.equal(b.dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name, 'trustplane');
    assert.equal(b.dynamic_resources.ads_config.set_node_on_first_message_only, true);
    assert.deepEqual(b.static_resources.clusters.map((c: J) => c.name), ['trustplane']);
    const x = xdsCluster(b);
    assert.deepEqual(x.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address, { pipe: { path: '/var/run/trustplane/xds.sock' } });
    assert.ok(x.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config.http2_protocol_options);
    assert.equal(x.transport_socket, undefined);
  });

  test('TCP: mTLS with the node SVID from files and an exact check of the server ID', () => {
    const x = xdsCluster(boot({ xds: tcpXdsEndpoint('cp.example.org', 8443, { certificateFile: '/n/cert.pem', privateKeyFile: '/n/key.pem', caFile: '/n/ca.pem' }) }));
    const ctx = x.transport_socket.typed_config.common_tls_context;
    assert.deepEqual(ctx.tls_certificates, [{ certificate_chain: { filename: '/n/cert.pem' }, private_key: { filename: '/n/key.pem' } }]);
    assert.deepEqual(ctx.validation_context, {
      trusted_ca: { filename: '/n/ca.pem' },
      match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://example.org/trustplane/server' } }],
    });
    assert.deepEqual(ctx.alpn_protocols, ['h2']);
    assert.deepEqual(x.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: 'cp.example.org', port_value: 8443 });
    assert.equal(x.type, 'STRICT_DNS');
  });

  test('static: listeners and clusters inline, no LDS/CDS, secrets still over ADS', () => {
    const b = boot({ static: true });
    assert.deepEqual(b.static_resources.listeners.map((l: J) => l.name), ['inbound_9001', 'inbound_9002', 'inbound_9003']);
    assert.deepEqual(b.static_resources.clusters.map((c: J) => c.name), ['trustplane', 'inbound_9001_app', 'inbound_9002_app', 'inbound_9003_app']);
    assert.equal(b.dynamic_resources.lds_config, undefined);
    assert.equal(b.dynamic_resources.cds_config, undefined);
    assert.ok(b.dynamic_resources.ads_config);
  });

  test('static with SDS from the xDS cluster needs no ADS at all', () => {
    const sds = { source: 'cluster' as const, svidInitialFetchTimeoutMs: 0, validationInitialFetchTimeoutMs: 0 };
    const b = boot({ static: true, resources: resourceOptions({ sds }) });
    assert.equal(b.dynamic_resources, undefined);
  });
});
