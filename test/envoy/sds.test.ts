import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toBinary } from '@bufbuild/protobuf';
import { SdsSecretConfigSchema, type SdsSecretConfig } from '#gen/envoy/extensions/transport_sockets/tls/v3/secret_pb';
import { DownstreamTlsContextSchema, UpstreamTlsContextSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/tls_pb';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { buildServiceResources } from '../../src/envoy/resources.js';
import { DEFAULT_SDS_POLICY, isValidationSecretName, sdsSecretConfig, validationSecretName } from '../../src/envoy/sds.js';
import { asJson } from './fixtures/json.js';
import { mesh, MODES_MESH, service } from './fixtures/meshes.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import type { Cluster } from '#gen/envoy/config/cluster/v3/cluster_pb';
import type { Listener } from '#gen/envoy/config/listener/v3/listener_pb';

const hex = (c: SdsSecretConfig) => Buffer.from(toBinary(SdsSecretConfigSchema, c)).toString('hex');

/** Every SdsSecretConfig inside a set of listeners and clusters, by secret name, as hex bytes. */
function sdsConfigs(listeners: readonly Listener[], clusters: readonly Cluster[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (c: SdsSecretConfig | undefined) => {
    if (!c) return;
    if (!out.has(c.name)) out.set(c.name, new Set());
    out.get(c.name)!.add(hex(c));
  };
  const contexts = [
    ...listeners.flatMap((l) => l.filterChains.map((fc) => fc.transportSocket)).flatMap((ts) => {
      const any = ts?.configType.case === 'typedConfig' ? ts.configType.value : undefined;
      return any ? [anyUnpack(any, DownstreamTlsContextSchema)?.commonTlsContext] : [];
    }),
    ...clusters.flatMap((c) => {
      const any = c.transportSocket?.configType.case === 'typedConfig' ? c.transportSocket.configType.value : undefined;
      return any ? [anyUnpack(any, UpstreamTlsContextSchema)?.commonTlsContext] : [];
    }),
  ];
  for (const ctx of contexts) {
    ctx?.tlsCertificateSdsSecretConfigs.forEach(add);
    if (ctx?.validationContextType.case === 'combinedValidationContext') add(ctx.validationContextType.value.validationContextSdsSecretConfig);
  }
  return out;
}

describe('SdsSecretConfig', () => {
  test('one name has one byte encoding in every listener and cluster, across two independent builds', () => {
    const a = mesh(MODES_MESH);
    const b = mesh(MODES_MESH);
    const all = new Map<string, Set<string>>();
    for (const m of [a, b]) {
      for (const s of m.services) {
        const r = buildServiceResources(m, s, { sds: { ...DEFAULT_SDS_POLICY } }); // a fresh, equal policy object each time
        for (const [name, set] of sdsConfigs(r.listeners, r.clusters)) {
          if (!all.has(name)) all.set(name, new Set());
          set.forEach((h) => all.get(name)!.add(h));
        }
      }
    }
    assert.ok(all.size >= 4, `found ${[...all.keys()].join(', ')}`);
    for (const [name, encodings] of all) assert.equal(encodings.size, 1, `${name} has ${encodings.size} encodings`);
  });

  test('the default policy waits for secrets (initial_fetch_timeout 0s) over ADS', () => {
    for (const name of ['spiffe://example.org/api', 'spiffe://example.org', 'ALL', 'ROOTCA']) {
      assert.deepEqual(asJson(SdsSecretConfigSchema, sdsSecretConfig(name)), {
        name,
        sds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      });
    }
  });

  test('timeouts are configurable per kind of secret, and the xDS cluster can be the source', () => {
    const policy = { source: 'cluster' as const, svidInitialFetchTimeoutMs: 15000, validationInitialFetchTimeoutMs: 2500 };
    const svid = asJson(SdsSecretConfigSchema, sdsSecretConfig('spiffe://example.org/api', policy));
    const ca = asJson(SdsSecretConfigSchema, sdsSecretConfig('spiffe://example.org', policy));
    assert.equal(svid.sds_config.initial_fetch_timeout, '15s');
    assert.equal(ca.sds_config.initial_fetch_timeout, '2.500s');
    assert.deepEqual(svid.sds_config.api_config_source, {
      api_type: 'GRPC',
      transport_api_version: 'V3',
      grpc_services: [{ envoy_grpc: { cluster_name: 'trustplane' } }],
      set_node_on_first_message_only: true,
    });
  });

  const names: Array<[string, boolean]> = [
    ['ROOTCA', true],
    ['ALL', true],
    ['spiffe://example.org', true],
    ['spiffe://example.org/api', false],
    ['default', false],
  ];
  for (const [name, validation] of names) {
    test(`${name} is ${validation ? 'a validation context' : 'a tls_certificate'}`, () => assert.equal(isValidationSecretName(name), validation));
  }

  test('validation secret: the trust domain ID for one domain, ALL across several', () => {
    const td = (s: string) => TrustDomain.parse(s);
    assert.equal(validationSecretName([td('a.org'), td('a.org')]), 'spiffe://a.org');
    assert.equal(validationSecretName([td('a.org'), td('b.org')]), 'ALL');
  });

  test('the api service listener uses its SPIFFE ID as the SVID secret name', () => {
    const m = mesh(MODES_MESH);
    const r = buildServiceResources(m, service(m, 'api'));
    assert.deepEqual([...sdsConfigs(r.listeners, r.clusters).keys()].sort(), ['ALL', 'spiffe://example.org/api']);
  });
});
