// The vm target's resources: Istio services get Istio's SNI, ALPN and exact service-account SAN anchored by
// the cluster.local bundle; other dependencies are built exactly as a sidecar's.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { create, toBinary } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { ClusterSchema, type Cluster } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { UpstreamTlsContextSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/tls_pb';
import { outboundCluster } from '../../src/envoy/outbound.js';
import { resourceOptions } from '../../src/envoy/options.js';
import { buildNodeResources, buildServiceResources } from '../../src/envoy/resources.js';
import { checkEnvoyBinary } from '../../src/envoy/strict.js';
import { istioSni } from '../../src/envoy/vm/upstream.js';
import { parseMesh } from '../../src/mesh/parse.js';
import { clusterTls } from './istio-peer.js';

const example = parseMesh(readFileSync(new URL('../../../examples/vm-istio.yaml', import.meta.url), 'utf8'), 'examples/vm-istio.yaml');
const billing = example.serviceByName('billing')!;
const byName = (cs: readonly Cluster[], name: string) => cs.find((c) => c.name === name)!;

describe('vm target', () => {
  const { listeners, clusters } = buildServiceResources(example, billing);

  test('a sidecar-style inbound listener, and a loopback listener per dependency with a listenPort', () => {
    assert.deepEqual(listeners.map((l) => l.name), ['inbound_15006', 'outbound_reviews', 'outbound_ledger']);
  });

  test('Istio services: SNI outbound_.<port>_._.<host>, Istio\'s ALPN (+h2 for gRPC), exact SAN, cluster.local bundle', () => {
    assert.deepEqual(clusterTls(byName(clusters, 'outbound_reviews')), {
      sni: 'outbound_.9080_._.reviews.bookinfo.svc.cluster.local',
      alpn: ['istio-peer-exchange', 'istio'],
      exactSans: ['spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews'],
      svidSecret: 'spiffe://vm.example.org/ns/vms/sa/billing',
      validationSecret: 'spiffe://cluster.local',
    });
    // No istio.port: the SNI carries the dependency's port.
    assert.deepEqual(clusterTls(byName(clusters, 'outbound_ledger')), {
      sni: 'outbound_.7070_._.ledger.finance.svc.cluster.local',
      alpn: ['istio-peer-exchange', 'istio', 'h2'],
      exactSans: ['spiffe://cluster.local/ns/finance/sa/ledger'],
      svidSecret: 'spiffe://vm.example.org/ns/vms/sa/billing',
      validationSecret: 'spiffe://cluster.local',
    });
  });

  test('istioSni', () => {
    assert.equal(istioSni({ host: 'a.b.svc.cluster.local', port: 80 }), 'outbound_.80_._.a.b.svc.cluster.local');
  });

  test('the Istio trust domain follows istio.trustDomain', () => {
    const m = parseMesh(`trustDomain: vm.example.org
federation: [{trustDomain: mesh.corp}]
services:
  - name: billing
    spiffeId: spiffe://vm.example.org/billing
    target: vm
    outbound:
      - {name: reviews, address: 10.0.0.9, port: 9080, protocol: http, istio: {host: reviews.bookinfo.svc.cluster.local, namespace: bookinfo, serviceAccount: reviews, trustDomain: mesh.corp}}
`, 'td.yaml');
    const c = clusterTls(buildServiceResources(m, m.serviceByName('billing')!).clusters[0]!);
    assert.deepEqual([c.exactSans, c.validationSecret], [['spiffe://mesh.corp/ns/bookinfo/sa/reviews'], 'spiffe://mesh.corp']);
  });

  test('stated sni and alpn are used as written; other dependencies are the sidecar\'s clusters, byte for byte', () => {
    const m = parseMesh(`trustDomain: vm.example.org
federation: [{trustDomain: partner.net}]
services:
  - name: billing
    spiffeId: spiffe://vm.example.org/billing
    target: vm
    outbound:
      - {name: api, address: 10.0.0.9, port: 443, protocol: http, spiffeIds: [spiffe://partner.net/api], sni: api.partner.net, alpn: [h2, http/1.1]}
      - {name: plain, address: api.partner.net, port: 443, protocol: grpc, spiffeIds: [spiffe://partner.net/api]}
      - {name: db, address: 10.0.0.5, port: 5432, mode: DISABLE}
`, 'generic.yaml');
    const s = m.serviceByName('billing')!;
    const cs = buildServiceResources(m, s).clusters;
    const api = clusterTls(cs[0]!);
    assert.deepEqual([api.sni, api.alpn, api.exactSans], ['api.partner.net', ['h2', 'http/1.1'], ['spiffe://partner.net/api']]);
    for (const [i, dep] of s.outbound.entries()) {
      if (i === 0) continue;
      assert.deepEqual(toBinary(ClusterSchema, cs[i]!), toBinary(ClusterSchema, create(ClusterSchema, outboundCluster(s, dep, resourceOptions()))));
    }
    assert.equal(cs[2]!.transportSocket, undefined);
  });

  test('every node resource survives the strict binary/JSON round trip', () => {
    for (const r of buildNodeResources(example, billing)) checkEnvoyBinary(r.typeUrl, r.bytes, r.name);
    assert.ok(anyUnpack(byName(clusters, 'outbound_reviews').transportSocket!.configType.value as never, UpstreamTlsContextSchema));
  });
});
