// The generic writer (binary.ts) encodes an init shape exactly as toBinary encodes the message create() makes of
// it: for every resource of every example mesh (all targets), randomized meshes under several option sets, and
// the protobuf corners the builders do not reach today (wrappers, maps, packed lists, Struct, 64-bit integers).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { ClusterSchema } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { ClusterLoadAssignmentSchema } from '#gen/envoy/config/endpoint/v3/endpoint_pb';
import { ListenerSchema } from '#gen/envoy/config/listener/v3/listener_pb';
import { RouteConfigurationSchema } from '#gen/envoy/config/route/v3/route_pb';
import { MetadataSchema } from '#gen/envoy/config/core/v3/base_pb';
import { DownstreamTlsContextSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/tls_pb';
import { SocketOptionSchema } from '#gen/envoy/config/core/v3/socket_option_pb';
import { RetryPolicySchema } from '#gen/envoy/config/route/v3/route_components_pb';
import { parseMesh } from '../../src/mesh/parse.js';
import type { MeshModel, Service } from '../../src/mesh/model.js';
import { buildNodeResources, buildServiceResources } from '../../src/envoy/resources.js';
import { encodeAnys, encodeAnyViews, encodeInit, share } from '../../src/envoy/binary.js';
import { typed } from '../../src/envoy/typed.js';
import { AnySchema, anyPack } from '@bufbuild/protobuf/wkt';
import { deepFreeze } from '../../src/envoy/memo.js';
import { EnvoyGenerateError } from '../../src/envoy/errors.js';
import { DEFAULT_RESOURCE_OPTIONS, type ResourceOptions } from '../../src/envoy/options.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../../src/envoy/type-urls.js';
import { mesh, MODES_MESH, service } from './fixtures/meshes.js';
import { randomMesh } from './fixtures/random-mesh.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** toBinary of buildServiceResources' messages, in buildNodeResources' order. */
function viaMessages(m: MeshModel, s: Service, opts: Partial<ResourceOptions>): { typeUrl: string; name: string; hex: string }[] {
  const { listeners, clusters, routes = [], endpoints = [] } = buildServiceResources(m, s, opts);
  return [
    ...listeners.map((l) => ({ typeUrl: LISTENER_TYPE_URL, name: l.name, hex: hex(toBinary(ListenerSchema, l)) })),
    ...clusters.map((c) => ({ typeUrl: CLUSTER_TYPE_URL, name: c.name, hex: hex(toBinary(ClusterSchema, c)) })),
    ...routes.map((r) => ({ typeUrl: ROUTE_TYPE_URL, name: r.name, hex: hex(toBinary(RouteConfigurationSchema, r)) })),
    ...endpoints.map((e) => ({ typeUrl: ENDPOINT_TYPE_URL, name: e.clusterName, hex: hex(toBinary(ClusterLoadAssignmentSchema, e)) })),
  ];
}

/** Asserts byte equality for every generated service of the mesh; returns how many resources were compared. */
function assertSameBytes(m: MeshModel, opts: Partial<ResourceOptions>, where: string): number {
  let compared = 0;
  for (const s of m.services) {
    const direct = buildNodeResources(m, s, opts);
    assert.deepEqual(
      direct.map((r) => ({ typeUrl: r.typeUrl, name: r.name, hex: hex(r.bytes) })),
      viaMessages(m, s, opts),
      `${where}: service ${s.name}`,
    );
    compared += direct.length;
  }
  return compared;
}

const OPTION_SETS: { name: string; opts: Partial<ResourceOptions> }[] = [
  { name: 'defaults', opts: {} },
  {
    name: 'SDS over a cluster with timeouts, odd connect timeout, IPv6 inbound bind',
    opts: {
      sds: { source: 'cluster', svidInitialFetchTimeoutMs: 15_000, validationInitialFetchTimeoutMs: 2_500 },
      connectTimeoutMs: 1_234,
      inboundBindAddress: '::',
      outboundBindAddress: '127.0.0.2',
    },
  },
  { name: 'zero connect timeout and an empty outbound bind address', opts: { ...DEFAULT_RESOURCE_OPTIONS, connectTimeoutMs: 0, outboundBindAddress: '' } },
];

describe('served bytes (init shapes written by binary.ts) equal toBinary of the created messages', () => {
  for (const file of readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.yaml')).sort()) {
    test(`example mesh ${file}, every option set`, () => {
      const m = parseMesh(readFileSync(join(ROOT, 'examples', file), 'utf8'), `examples/${file}`);
      let compared = 0;
      for (const { name, opts } of OPTION_SETS) compared += assertSameBytes(m, opts, `${file} (${name})`);
      assert.ok(compared > 0, `${file}: nothing compared`);
    });
  }

  test('the builder fixture with one port per mode, federated callers and every client kind', () => {
    assert.ok(assertSameBytes(mesh(MODES_MESH), {}, 'MODES_MESH') > 0);
  });

  test('randomized meshes (100 seeds) under every option set', () => {
    let compared = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const m = parseMesh(randomMesh(seed), `random-${seed}.yaml`);
      for (const { name, opts } of OPTION_SETS) compared += assertSameBytes(m, opts, `seed ${seed} (${name})`);
    }
    assert.ok(compared > 500, `only ${compared} resources compared`);
  });

  test('lengths of two and three varint bytes: 400 callers with long IDs (an RBAC config over 16 KiB)', () => {
    const callers = Array.from({ length: 400 }, (_, i) => `      - spiffeId: spiffe://example.org/ns/${'n'.repeat(30)}/sa/caller-${i}`);
    const m = mesh(`trustDomain: example.org
services:
  - name: wide
    spiffeId: spiffe://example.org/wide
    nodes: [uid:1]
    mode: PERMISSIVE
    inbound:
      - { port: 9000, appPort: 8000, protocol: http }
    allowedCallers:
${callers.join('\n')}
`);
    const [listener] = buildNodeResources(m, service(m, 'wide'));
    assert.ok(listener!.bytes.length > 16_384, `listener is only ${listener!.bytes.length} bytes`);
    assertSameBytes(m, {}, 'wide');
  });

  test('a dependency that needs mTLS but expects no server ID is refused with a typed error', () => {
    const m = mesh(MODES_MESH);
    const web = service(m, 'web');
    const bad = { ...web, outbound: web.outbound.map((d) => ({ ...d, spiffeIds: [] })) } as Service;
    assert.throws(() => buildNodeResources(m, bad), (e: unknown) => e instanceof EnvoyGenerateError && e.code === 'NO_SERVER_SPIFFE_ID' && /^web → api/.test(e.message));
  });
});

describe('encodeInit, generic cases', () => {
  const same = <D extends DescMessage>(schema: D, init: Parameters<typeof create<D>>[1]) => {
    assert.equal(hex(encodeInit(schema, init as never)), hex(toBinary(schema, create(schema, init))));
    // A created message is an init shape with every field present: same bytes.
    assert.equal(hex(encodeInit(schema, create(schema, init) as never)), hex(toBinary(schema, create(schema, init))));
  };

  test('wrapper fields (BoolValue) true, false and unset', () => {
    same(DownstreamTlsContextSchema, { requireClientCertificate: true });
    same(DownstreamTlsContextSchema, { requireClientCertificate: false });
    same(DownstreamTlsContextSchema, {});
  });

  test('maps of Struct (JSON objects) and of Any', () => {
    same(MetadataSchema, { filterMetadata: { 'envoy.lb': { canary: true, weight: 3, tags: ['a', 'b'], nested: { x: null } } } });
    same(MetadataSchema, { typedFilterMetadata: { k: { typeUrl: 'type.googleapis.com/x', value: new Uint8Array([1, 2, 3]) } } });
  });

  test('64-bit integers (zero, large, negative, in a oneof), bytes, and packed repeated integers', () => {
    same(SocketOptionSchema, { level: 0n, name: 2n ** 40n, value: { case: 'intValue', value: -5n } });
    same(SocketOptionSchema, { level: 1n, value: { case: 'bufValue', value: new Uint8Array([0, 255, 7]) } });
    same(SocketOptionSchema, { value: { case: 'intValue', value: 0n } });
    same(RetryPolicySchema, { retryOn: '5xx', retriableStatusCodes: [503, 0, 70000], hostSelectionRetryMaxAttempts: 3n, retriableHeaders: [{ name: 'x' }, {}] });
    same(RetryPolicySchema, { retriableStatusCodes: [] });
  });

  test('strings: non-ASCII, empty implicit fields left out, empty repeated ones kept, and long ones', () => {
    same(RouteConfigurationSchema, { name: 'café-路由-🚀', virtualHosts: [{ name: 'ünïcode', domains: ['ß.example', '例え.jp', ''] }] });
    same(RouteConfigurationSchema, { name: '', virtualHosts: [{ name: '', domains: ['', 'a'] }] });
    same(RouteConfigurationSchema, { name: 'y'.repeat(20_000), virtualHosts: [{ name: 'z'.repeat(17_000), domains: ['é'.repeat(9_000)] }] });
  });

  test('a shared (deep-frozen) sub-message is encoded once and reused; an unshared one is encoded each time', () => {
    const vh = deepFreeze({ name: 'shared', domains: ['*'] });
    const a = encodeInit(RouteConfigurationSchema, { name: 'a', virtualHosts: [vh] });
    const b = encodeInit(RouteConfigurationSchema, { name: 'b', virtualHosts: [vh, vh] });
    assert.equal(hex(b), hex(toBinary(RouteConfigurationSchema, create(RouteConfigurationSchema, { name: 'b', virtualHosts: [vh, vh] }))));
    assert.equal(hex(a), hex(toBinary(RouteConfigurationSchema, create(RouteConfigurationSchema, { name: 'a', virtualHosts: [vh] }))));
    const top = share(Object.freeze({ name: 'top' }));
    assert.equal(encodeInit(RouteConfigurationSchema, top), encodeInit(RouteConfigurationSchema, top), 'kept bytes are returned as they are');
    const open = { name: 'open' };
    assert.notEqual(encodeInit(RouteConfigurationSchema, open), encodeInit(RouteConfigurationSchema, open));
  });

  test('Anys packed from init shapes (typed): written in place, equal to anyPack of the encoded message, empty ones without a value field', () => {
    for (const inner of [{}, { alpnProtocols: [] as string[] }, { commonTlsContext: { alpnProtocols: ['h2'] } }]) {
      const any = typed(DownstreamTlsContextSchema, inner);
      const packed = { name: 'l', listenerFilters: [{ name: 'f', configType: { case: 'typedConfig' as const, value: any } }] };
      same(ListenerSchema, packed);
      // Read through `value` (create(), toJson), the same bytes as anyPack of the message.
      assert.equal(hex(any.value), hex(toBinary(DownstreamTlsContextSchema, create(DownstreamTlsContextSchema, inner))));
      assert.equal(hex(encodeInit(AnySchema, any)), hex(toBinary(AnySchema, anyPack(DownstreamTlsContextSchema, create(DownstreamTlsContextSchema, inner)))));
    }
  });

  test('encodeAnys: several resources in one buffer, each Any and value a view, equal to anyPack of the message', () => {
    const inits = [{ name: 'a', virtualHosts: [{ name: 'v', domains: ['*'] }] }, { name: 'b' }, {}];
    const out = encodeAnys(inits.map((init) => ({ typeUrl: ROUTE_TYPE_URL, schema: RouteConfigurationSchema, init })));
    assert.equal(out.length, 3);
    for (const [i, init] of inits.entries()) {
      const message = create(RouteConfigurationSchema, init);
      assert.equal(hex(out[i]!.value), hex(toBinary(RouteConfigurationSchema, message)));
      assert.equal(hex(out[i]!.any), hex(toBinary(AnySchema, anyPack(RouteConfigurationSchema, message))));
    }
    // The non-empty ones share one buffer: one allocation for the lot.
    assert.equal(out[0]!.any.buffer, out[1]!.any.buffer);
    assert.equal(out[0]!.value.buffer, out[0]!.any.buffer);
  });

  test('encodeAnyViews with Anys already held: those with equal bytes are handed back, the rest copied into one buffer', () => {
    const inits = [{ name: 'a', virtualHosts: [{ name: 'v', domains: ['*'] }] }, { name: 'b' }, { name: 'c' }, {}];
    const items = inits.map((init) => ({ typeUrl: ROUTE_TYPE_URL, schema: RouteConfigurationSchema, init }));
    const before = encodeAnyViews(items);
    // Held: a's Any as it is, and a stale Any for c (other bytes).
    const stale = encodeAnyViews([{ typeUrl: ROUTE_TYPE_URL, schema: RouteConfigurationSchema, init: { name: 'old c' } }])[0]!;
    const held = [before[0]!, undefined, stale, undefined];
    const asked: number[] = [];
    const out = encodeAnyViews(items, (i, bytes) => {
      asked.push(i);
      const h = held[i];
      return h && hex(h) === hex(bytes) ? h : undefined;
    });
    assert.deepEqual(out.map(hex), before.map(hex));
    assert.equal(out[0], before[0], 'equal bytes: the held Any itself');
    assert.equal(out[1]!.buffer, out[2]!.buffer, 'the others: one new buffer');
    assert.notEqual(out[1]!.buffer, before[1]!.buffer);
    // The empty message is never asked about (its Any is written apart, without a value field).
    assert.deepEqual(asked, [0, 1, 2]);
    // The writer is left empty: the next encoding is unaffected.
    assert.deepEqual(encodeAnyViews(items).map(hex), before.map(hex));
  });
});
