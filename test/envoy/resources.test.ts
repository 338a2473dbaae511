import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildNodeResources, buildServiceResources, serviceForNode } from '../../src/envoy/resources.js';
import { EnvoyGenerateError } from '../../src/envoy/errors.js';
import { checkEnvoyBinary } from '../../src/envoy/strict.js';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from '../../src/envoy/type-urls.js';
import { mesh, MODES_MESH, service } from './fixtures/meshes.js';

const m = mesh(MODES_MESH);

describe('node resources for ADS', () => {
  test('listeners then clusters, typed and named, with binary that parses strictly', () => {
    const rs = buildNodeResources(m, service(m, 'web'));
    assert.deepEqual(rs.map((r) => [r.typeUrl, r.name]), [
      [LISTENER_TYPE_URL, 'outbound_api'],
      [CLUSTER_TYPE_URL, 'outbound_api'],
      [CLUSTER_TYPE_URL, 'outbound_legacy'],
      [CLUSTER_TYPE_URL, 'outbound_partner'],
    ]);
    for (const r of rs) checkEnvoyBinary(r.typeUrl, r.bytes, r.name);
  });

  test('two builds of the same description are byte-identical', () => {
    const a = buildNodeResources(m, service(m, 'api'));
    const b = buildNodeResources(mesh(MODES_MESH), service(m, 'api'));
    assert.deepEqual(a.map((r) => Buffer.from(r.bytes).toString('hex')), b.map((r) => Buffer.from(r.bytes).toString('hex')));
  });

  test('node.cluster maps to the service', () => {
    assert.equal(serviceForNode(m, 'api')?.name, 'api');
    assert.equal(serviceForNode(m, 'nope'), undefined);
  });

  test('a target without a generator is refused with a stable code', () => {
    const m = mesh(`trustDomain: example.org
services:
  - name: edge
    spiffeId: spiffe://example.org/edge
    nodes: [uid:1]
`);
    const unknownTarget = { ...service(m, 'edge'), target: 'lambda' as never };
    assert.throws(() => buildServiceResources(m, unknownTarget), (e: unknown) => e instanceof EnvoyGenerateError && e.code === 'UNSUPPORTED_TARGET' && /lambda/.test(e.message));
  });
});
