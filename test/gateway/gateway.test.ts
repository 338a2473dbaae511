// The gateway target: external TLS from files with no client certificate asked for unless the description says
// so, routes by host and longest path prefix, and mesh mTLS to each upstream with its exact SPIFFE ID.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { toBinary, type JsonValue } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import YAML from 'yaml';
import type { Cluster } from '#gen/envoy/config/cluster/v3/cluster_pb';
import type { Listener } from '#gen/envoy/config/listener/v3/listener_pb';
import { HttpConnectionManagerSchema } from '#gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb';
import { DownstreamTlsContextSchema, UpstreamTlsContextSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/tls_pb';
import { buildNodeResources, buildServiceResources } from '../../src/envoy/resources.js';
import { gatewaySdsFiles, GATEWAY_SDS_DIR } from '../../src/envoy/gateway/file-sds.js';
import { checkEnvoyBinary, parseEnvoyJson } from '../../src/envoy/strict.js';
import { messageForType } from '../../src/envoy/registry.js';
import { DISCOVERY_RESPONSE_TYPE_NAME } from '../../src/envoy/type-urls.js';
import { parseMesh } from '../../src/mesh/parse.js';
import type { MeshModel } from '../../src/mesh/model.js';

const example = parseMesh(readFileSync(new URL('../../../examples/gateway.yaml', import.meta.url), 'utf8'), 'examples/gateway.yaml');
const edge = example.serviceByName('edge')!;

function downstream(l: Listener, i: number) {
  const ts = l.filterChains[i]!.transportSocket!;
  assert.equal(ts.configType.case, 'typedConfig');
  return anyUnpack(ts.configType.value!, DownstreamTlsContextSchema)!;
}

function hcm(l: Listener, i: number) {
  const f = l.filterChains[i]!.filters[0]!;
  return anyUnpack(f.configType.value as never, HttpConnectionManagerSchema)!;
}

function upstream(c: Cluster) {
  return anyUnpack(c.transportSocket!.configType.value as never, UpstreamTlsContextSchema)!;
}

const oneHost = (extra = '') => parseMesh(`trustDomain: example.org
services:
  - name: edge
    spiffeId: spiffe://example.org/edge
    target: gateway
    outbound: [{service: web}]
    gateway:
      listeners:
        - port: 8443
          hosts: [shop.example.com]
          tls: {certificateFile: /etc/tls/tls.crt, privateKeyFile: /etc/tls/tls.key${extra}}
      routes: [{host: shop.example.com, dependency: web}]
  - name: web
    spiffeId: spiffe://example.org/web
    inbound: [{port: 15006, appPort: 8080, protocol: http}]
`, 'one.yaml');

describe('gateway description', () => {
  test('listeners and routes resolve, with the path prefix defaulting to /', () => {
    assert.deepEqual(edge.gateway!.listeners.map((l) => [l.port, l.hosts, l.tls.requireClientCertificate, l.tls.clientCaFile]), [
      [443, ['shop.example.com', 'www.shop.example.com'], false, undefined],
      [443, ['partners.example.com'], true, '/etc/gateway/tls/partner-clients/ca.crt'],
    ]);
    assert.deepEqual(edge.gateway!.routes.map((r) => `${r.host}${r.pathPrefix}→${r.dependency}`), [
      'shop.example.com/→storefront',
      'shop.example.com/api/orders/→orders',
      'shop.example.com/api/catalog/→catalog',
      'www.shop.example.com/→storefront',
      'partners.example.com/orders/→orders',
    ]);
  });
});

describe('gateway listeners', () => {
  const { listeners } = buildServiceResources(example, edge);

  test('one listener per port; entries sharing it are chosen by TLS server name, with a tls_inspector', () => {
    assert.deepEqual(listeners.map((l) => l.name), ['gateway_443']);
    const l = listeners[0]!;
    assert.deepEqual(l.listenerFilters.map((f) => f.name), ['envoy.filters.listener.tls_inspector']);
    assert.deepEqual(l.filterChains.map((c) => c.filterChainMatch?.serverNames), [['shop.example.com', 'www.shop.example.com'], ['partners.example.com']]);
  });

  test('by default no client certificate is asked for: no validation context, require_client_certificate unset', () => {
    const ctx = downstream(listeners[0]!, 0);
    assert.equal(ctx.commonTlsContext!.validationContextType.case, undefined);
    assert.equal(ctx.requireClientCertificate, undefined);
    const single = buildServiceResources(oneHost(), oneHost().serviceByName('edge')!).listeners[0]!;
    assert.equal(downstream(single, 0).commonTlsContext!.validationContextType.case, undefined);
    assert.equal(downstream(single, 0).requireClientCertificate, undefined);
  });

  test('a clientCaFile asks for a certificate (checked against it), required only with requireClientCertificate', () => {
    const partners = downstream(listeners[0]!, 1);
    assert.equal(partners.requireClientCertificate, true);
    const v = partners.commonTlsContext!.validationContextType;
    assert.equal(v.case, 'validationContextSdsSecretConfig');
    assert.equal(v.value!.name, 'gateway_443_partners.example.com_client_ca');
    const optional = oneHost(', clientCaFile: /etc/tls/ca.crt');
    const ctx = downstream(buildServiceResources(optional, optional.serviceByName('edge')!).listeners[0]!, 0);
    assert.equal(ctx.commonTlsContext!.validationContextType.case, 'validationContextSdsSecretConfig');
    assert.equal(ctx.requireClientCertificate, undefined);
  });

  test('the server certificate comes by file-based SDS whose directory is watched', () => {
    const sds = downstream(listeners[0]!, 0).commonTlsContext!.tlsCertificateSdsSecretConfigs;
    assert.equal(sds.length, 1);
    assert.equal(sds[0]!.name, 'gateway_443_shop.example.com_cert');
    const src = sds[0]!.sdsConfig!.configSourceSpecifier;
    assert.equal(src.case, 'pathConfigSource');
    assert.deepEqual([src.value!.path, src.value!.watchedDirectory?.path], [`${GATEWAY_SDS_DIR}/gateway_443_shop.example.com_cert.yaml`, GATEWAY_SDS_DIR]);
  });

  test('a port with a single entry matches every connection (no SNI needed) and has no tls_inspector', () => {
    const m = oneHost();
    const l = buildServiceResources(m, m.serviceByName('edge')!).listeners[0]!;
    assert.deepEqual(l.listenerFilters, []);
    assert.equal(l.filterChains[0]!.filterChainMatch, undefined);
  });

  test('a virtual host per host, longest path prefix first, to the dependency\'s cluster', () => {
    const routeConfig = hcm(listeners[0]!, 0).routeSpecifier;
    assert.equal(routeConfig.case, 'routeConfig');
    const vhosts = routeConfig.value!.virtualHosts.map((v) => [v.domains, v.routes.map((r) => `${r.match!.pathSpecifier.value}→${(r.action.value as { clusterSpecifier: { value: string } }).clusterSpecifier.value}`)]);
    assert.deepEqual(vhosts, [
      [['shop.example.com'], ['/api/catalog/→outbound_catalog', '/api/orders/→outbound_orders', '/→outbound_storefront']],
      [['www.shop.example.com'], ['/→outbound_storefront']],
    ]);
  });

  test('edge HTTP settings: remote address, normalized paths, merged slashes, host port ignored', () => {
    const h = hcm(listeners[0]!, 1);
    assert.deepEqual([h.useRemoteAddress, h.normalizePath, h.mergeSlashes, h.stripPortMode.case], [true, true, true, 'stripAnyHostPort']);
  });
});

describe('gateway upstreams', () => {
  const { clusters } = buildServiceResources(example, edge);

  test('mTLS to each dependency with the gateway\'s SVID and exactly that upstream\'s SPIFFE ID', () => {
    const got = clusters.map((c) => {
      const ctx = upstream(c).commonTlsContext!;
      const v = ctx.validationContextType;
      assert.equal(v.case, 'combinedValidationContext');
      return [c.name, ctx.tlsCertificateSdsSecretConfigs[0]!.name, v.value!.defaultValidationContext!.matchTypedSubjectAltNames.map((m) => m.matcher!.matchPattern.value), v.value!.validationContextSdsSecretConfig!.name];
    });
    const gw = 'spiffe://example.org/ns/edge/sa/gateway';
    assert.deepEqual(got, [
      ['outbound_storefront', gw, ['spiffe://example.org/ns/shop/sa/storefront'], 'spiffe://example.org'],
      ['outbound_orders', gw, ['spiffe://example.org/ns/shop/sa/orders'], 'spiffe://example.org'],
      ['outbound_catalog', gw, ['spiffe://example.org/ns/shop/sa/catalog'], 'spiffe://example.org'],
    ]);
  });

  test('an Istio upstream of a gateway gets Istio\'s SNI and ALPN', () => {
    const m: MeshModel = parseMesh(`trustDomain: example.org
federation: [{trustDomain: cluster.local}]
services:
  - name: edge
    spiffeId: spiffe://example.org/edge
    target: gateway
    outbound:
      - name: reviews
        address: eastwest.example.net
        port: 15443
        protocol: http
        istio: {host: reviews.bookinfo.svc.cluster.local, port: 9080, namespace: bookinfo, serviceAccount: bookinfo-reviews}
    gateway:
      listeners: [{port: 443, hosts: [shop.example.com], tls: {certificateFile: /t/c, privateKeyFile: /t/k}}]
      routes: [{host: shop.example.com, dependency: reviews}]
`, 'gw-istio.yaml');
    const ctx = upstream(buildServiceResources(m, m.serviceByName('edge')!).clusters[0]!);
    assert.equal(ctx.sni, 'outbound_.9080_._.reviews.bookinfo.svc.cluster.local');
    assert.deepEqual(ctx.commonTlsContext!.alpnProtocols, ['istio-peer-exchange', 'istio']);
  });
});

describe('strict Envoy validation', () => {
  test('every node resource of the gateway survives the strict binary/JSON round trip', () => {
    for (const r of buildNodeResources(example, edge)) checkEnvoyBinary(r.typeUrl, r.bytes, r.name);
  });

  test('the SDS files parse strictly as DiscoveryResponses of Secrets naming the cert-manager files, directory watched', () => {
    const files = gatewaySdsFiles(edge, 'examples/gateway.yaml');
    assert.deepEqual([...files.keys()], ['gateway_443_shop.example.com_cert.yaml', 'gateway_443_partners.example.com_cert.yaml', 'gateway_443_partners.example.com_client_ca.yaml']);
    for (const [name, text] of files) {
      const json = YAML.parse(text) as JsonValue;
      const msg = parseEnvoyJson(DISCOVERY_RESPONSE_TYPE_NAME, json, name);
      checkEnvoyBinary(DISCOVERY_RESPONSE_TYPE_NAME, toBinary(messageForType(DISCOVERY_RESPONSE_TYPE_NAME)!, msg), name);
    }
    const shop = YAML.parse(files.get('gateway_443_shop.example.com_cert.yaml')!) as { resources: { name: string; tls_certificate: unknown }[] };
    assert.deepEqual(shop.resources[0], {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
      name: 'gateway_443_shop.example.com_cert',
      tls_certificate: {
        certificate_chain: { filename: '/etc/gateway/tls/shop/tls.crt' },
        private_key: { filename: '/etc/gateway/tls/shop/tls.key' },
        watched_directory: { path: '/etc/gateway/tls/shop' },
      },
    });
    const ca = YAML.parse(files.get('gateway_443_partners.example.com_client_ca.yaml')!) as { resources: { validation_context: unknown }[] };
    assert.deepEqual(ca.resources[0]!.validation_context, { trusted_ca: { filename: '/etc/gateway/tls/partner-clients/ca.crt' }, watched_directory: { path: '/etc/gateway/tls/partner-clients' } });
  });
});
