// The sidecar's bytes are written directly (sidecar-wire.ts) while the message builders stay the definition of
// the resources: these tests hold the two to the same bytes, for every example mesh, hand-picked edge cases and
// randomized meshes under several option sets, and check the writer's own encoding against toBinary.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import { ClusterSchema } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { ListenerSchema } from '#gen/envoy/config/listener/v3/listener_pb';
import { RouteConfigurationSchema } from '#gen/envoy/config/route/v3/route_pb';
import { VirtualHostSchema } from '#gen/envoy/config/route/v3/route_components_pb';
import { parseMesh } from '../../src/mesh/parse.js';
import type { MeshModel, Service } from '../../src/mesh/model.js';
import { buildNodeResources, buildServiceResources } from '../../src/envoy/resources.js';
import { EnvoyGenerateError } from '../../src/envoy/errors.js';
import { DEFAULT_RESOURCE_OPTIONS, type ResourceOptions } from '../../src/envoy/options.js';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from '../../src/envoy/type-urls.js';
import { fieldNo, WireWriter } from '../../src/envoy/wire.js';
import { mesh, MODES_MESH, service } from './fixtures/meshes.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The bytes of buildServiceResources' messages, in buildNodeResources' order. */
function viaMessages(m: MeshModel, s: Service, opts: Partial<ResourceOptions>): { typeUrl: string; name: string; hex: string }[] {
  const { listeners, clusters } = buildServiceResources(m, s, opts);
  return [
    ...listeners.map((l) => ({ typeUrl: LISTENER_TYPE_URL, name: l.name, hex: hex(toBinary(ListenerSchema, l)) })),
    ...clusters.map((c) => ({ typeUrl: CLUSTER_TYPE_URL, name: c.name, hex: hex(toBinary(ClusterSchema, c)) })),
  ];
}

/** Asserts byte equality for every sidecar of the mesh; returns how many resources were compared. */
function assertSameBytes(m: MeshModel, opts: Partial<ResourceOptions>, where: string): number {
  let compared = 0;
  for (const s of m.services) {
    if (s.target !== 'sidecar') continue;
    const direct = buildNodeResources(m, s, opts);
    assert.deepEqual(
      direct.map((r) => ({ typeUrl: r.typeUrl, name: r.name, hex: hex(r.bytes) })),
      viaMessages(m, s, opts),
      `${where}: service ${s.name}`,
    );
    for (const r of direct) {
      const encoded = r.typeUrl === LISTENER_TYPE_URL ? toBinary(ListenerSchema, r.message as never) : toBinary(ClusterSchema, r.message as never);
      assert.equal(hex(encoded), hex(r.bytes), `${where}: ${s.name} ${r.name}: message and bytes differ`);
    }
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

/** mulberry32: a small seeded PRNG, so a failing seed can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MODES = ['DISABLE', 'PERMISSIVE', 'STRICT'] as const;
const PROTOCOLS = ['http', 'tcp', 'grpc'] as const;
const FEDERATED = ['partner.example.net', 'other.example.com'];
const HOSTS = ['10.0.0.7', 'api.partner.example.net', '2001:db8::7', 'db.internal'];

/** A random but valid mesh description: ports, modes, protocols, mesh and external dependencies, callers. */
function randomMesh(seed: number): string {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const n = 2 + Math.floor(r() * 12);
  const lines = ['trustDomain: rand.example.org', `defaultMode: ${pick(MODES)}`, 'federation:', ...FEDERATED.map((td) => `  - trustDomain: ${td}`), 'services:'];
  const ports: number[][] = [];
  for (let i = 0; i < n; i++) ports.push(Array.from({ length: Math.floor(r() * 3) + (i === 0 ? 1 : 0) }, (_, k) => 9000 + k));
  const id = (i: number) => `spiffe://rand.example.org/ns/n${i % 3}/sa/s${i}`;
  for (let i = 0; i < n; i++) {
    lines.push(`  - name: s${i}`, `    spiffeId: ${id(i)}`, `    nodes: [uid:${1000 + i}]`);
    if (r() < 0.6) lines.push(`    mode: ${pick(MODES)}`);
    if (ports[i]!.length) {
      lines.push('    inbound:');
      for (const p of ports[i]!) {
        const mode = r() < 0.4 ? `, mode: ${pick(MODES)}` : '';
        const app = r() < 0.2 ? `, appAddress: ${pick(['10.1.2.3', 'app.local'])}` : '';
        lines.push(`      - { port: ${p}, appPort: ${8000 + p - 9000}, protocol: ${pick(PROTOCOLS)}${mode}${app} }`);
      }
    }
    const deps: string[] = [];
    let listen = 15000;
    for (let j = 0; j < n; j++) {
      if (j === i || !ports[j]!.length || r() < 0.6) continue;
      const lp = r() < 0.7 ? `, listenPort: ${listen++}` : '';
      deps.push(`      - { service: s${j}, port: ${pick(ports[j]!)}${lp} }`);
    }
    const externals = Math.floor(r() * 3);
    for (let e = 0; e < externals; e++) {
      const disabled = r() < 0.3;
      const lp = r() < 0.5 ? `, listenPort: ${listen++}` : '';
      const where = r() < 0.5 ? `address: "${pick(HOSTS)}"` : `endpoints: [{ address: "${pick(HOSTS)}" }, { address: "${pick(HOSTS)}", port: 8443 }]`;
      const td = pick(['rand.example.org', ...FEDERATED]);
      const ids = disabled ? ', mode: DISABLE' : `, spiffeIds: [spiffe://${td}/x${e}, spiffe://${td}/x${e}, spiffe://${pick(FEDERATED)}/y]`;
      deps.push(`      - { name: ext${e}, ${where}, port: ${443 + e}, protocol: ${pick(PROTOCOLS)}${ids}${lp} }`);
    }
    if (deps.length) lines.push('    outbound:', ...deps);
    const callers = r();
    if (callers < 0.15) lines.push('    allowedCallers: []');
    else if (callers < 0.85) {
      lines.push('    allowedCallers:');
      for (let k = 0; k < 1 + Math.floor(r() * 4); k++) {
        const kind = r();
        if (kind < 0.5) lines.push(`      - service: s${Math.floor(r() * n)}`);
        else if (kind < 0.8) lines.push(`      - spiffeId: spiffe://${pick(['rand.example.org', ...FEDERATED])}/c${Math.floor(r() * 3)}`);
        else lines.push(`      - trustDomain: ${pick(['rand.example.org', ...FEDERATED])}`);
      }
    }
  }
  return lines.join('\n') + '\n';
}

describe('sidecar bytes written directly equal toBinary of the built messages', () => {
  for (const file of readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.yaml')).sort()) {
    test(`example mesh ${file}, every option set`, () => {
      const m = parseMesh(readFileSync(join(ROOT, 'examples', file), 'utf8'), `examples/${file}`);
      for (const { name, opts } of OPTION_SETS) assertSameBytes(m, opts, `${file} (${name})`);
    });
  }

  test('the builder fixture with one port per mode, federated callers and every client kind', () => {
    assert.ok(assertSameBytes(mesh(MODES_MESH), {}, 'MODES_MESH') > 0);
  });

  test('randomized meshes (100 seeds) under every option set', () => {
    let compared = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const text = randomMesh(seed);
      const m = parseMesh(text, `random-${seed}.yaml`);
      for (const { name, opts } of OPTION_SETS) compared += assertSameBytes(m, opts, `seed ${seed} (${name})`);
    }
    assert.ok(compared > 500, `only ${compared} resources compared`);
  });

  test('the 10,000-service bench shape, sampled: a wide ring of callers and dependencies', () => {
    const lines = ['trustDomain: bench.example.org', 'services:'];
    const n = 40;
    for (let i = 0; i < n; i++) {
      lines.push(`  - name: s${i}`, `    spiffeId: spiffe://bench.example.org/ns/n${i % 5}/sa/s${i}`, `    nodes: [uid:${10000 + i}]`);
      lines.push(`    mode: ${['STRICT', 'PERMISSIVE', 'STRICT', 'DISABLE'][i % 4]}`, '    inbound:', `      - { port: 15006, appPort: 8080, protocol: ${PROTOCOLS[i % 3]} }`, '    outbound:');
      for (let k = 1; k <= 3; k++) lines.push(`      - { service: s${(i + k) % n}, listenPort: ${15100 + k} }`);
      lines.push('    allowedCallers:');
      for (let k = 1; k <= 3; k++) lines.push(`      - service: s${(i - k + n) % n}`);
    }
    assert.equal(assertSameBytes(parseMesh(lines.join('\n') + '\n', 'bench.yaml'), {}, 'bench shape'), n * 8);
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

  test('a dependency that needs mTLS but expects no server ID is refused by both paths with the same error', () => {
    const m = mesh(MODES_MESH);
    const web = service(m, 'web');
    const bad = { ...web, outbound: web.outbound.map((d) => ({ ...d, spiffeIds: [] })) } as Service;
    const error = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof EnvoyGenerateError);
        return `${e.code}: ${e.message}`;
      }
      assert.fail('no error');
    };
    const viaWire = error(() => buildNodeResources(m, bad));
    assert.match(viaWire, /^NO_SERVER_SPIFFE_ID: web → api/);
    assert.equal(viaWire, error(() => buildServiceResources(m, bad)));
    // The writer is left clean: the next service's bytes are unaffected.
    assertSameBytes(m, {}, 'after a refused service');
  });
});

describe('WireWriter encodes as toBinary does', () => {
  const routeName = fieldNo(RouteConfigurationSchema, 'name');
  const virtualHosts = fieldNo(RouteConfigurationSchema, 'virtualHosts');
  const vhName = fieldNo(VirtualHostSchema, 'name');
  const domains = fieldNo(VirtualHostSchema, 'domains');
  const cases: { name: string; routeName: string; hostName: string; domains: string[] }[] = [
    { name: 'short ASCII strings', routeName: 'r', hostName: 'h', domains: ['*'] },
    { name: 'non-ASCII strings (two-, three- and four-byte UTF-8)', routeName: 'café-路由-🚀', hostName: 'ünïcode', domains: ['ß.example', '例え.jp'] },
    { name: 'a nested message of exactly 127 bytes', routeName: 'x', hostName: 'h'.repeat(120), domains: ['ab'] },
    { name: 'a nested message of 128 bytes (length needs two bytes)', routeName: 'x', hostName: 'h'.repeat(121), domains: ['ab'] },
    { name: 'a string over 16 KiB (three-byte length) inside a nested message', routeName: 'y'.repeat(20_000), hostName: 'z'.repeat(17_000), domains: ['é'.repeat(9_000)] },
    { name: 'empty strings: implicit fields left out, repeated ones kept', routeName: '', hostName: '', domains: ['', 'a'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const w = new WireWriter();
      w.string(routeName, c.routeName).begin(virtualHosts).string(vhName, c.hostName);
      for (const d of c.domains) w.stringAlways(domains, d);
      w.end();
      const expected = toBinary(RouteConfigurationSchema, create(RouteConfigurationSchema, { name: c.routeName, virtualHosts: [{ name: c.hostName, domains: c.domains }] }));
      assert.equal(hex(w.finish()), hex(expected));
    });
  }

  test('resources that outgrow their slab mid-message move whole, and views handed out earlier keep their bytes', () => {
    const w = new WireWriter(32);
    const views: Uint8Array[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 30; i++) {
      const host = `host-${i}-${'h'.repeat(i * 7)}`;
      const doms = Array.from({ length: i % 4 }, (_, k) => `d${k}.example`);
      w.string(routeName, `r${i}`).begin(virtualHosts).string(vhName, host);
      for (const d of doms) w.stringAlways(domains, d);
      w.end();
      views.push(w.finish());
      expected.push(hex(toBinary(RouteConfigurationSchema, create(RouteConfigurationSchema, { name: `r${i}`, virtualHosts: [{ name: host, domains: doms }] }))));
    }
    assert.deepEqual(views.map(hex), expected);
  });

  test('a length that needs a second byte exactly when the slab is full (the shift moves to a new slab)', () => {
    // raw() reserves exactly what it writes, so for some (pad, n) the closing end() is what overflows the slab;
    // a resource handed out before makes the next one start mid-slab, so a stale offset would show.
    const bytes = (...xs: number[]) => hex(new Uint8Array(xs));
    for (let pad = 0; pad < 8; pad++) {
      for (let n = 128; n < 260; n++) {
        const w = new WireWriter(256);
        const before = w.string(3, 'p'.repeat(pad + 1)).finish();
        w.begin(2).raw(new Uint8Array(n).fill(7)).end();
        assert.equal(hex(w.finish()), bytes(0x12, (n & 0x7f) | 0x80, n >> 7, ...Array<number>(n).fill(7)), `pad ${pad}, n ${n}`);
        assert.equal(hex(before), bytes(0x1a, pad + 1, ...Array<number>(pad + 1).fill(0x70)));
      }
    }
  });

  test('an implicit bytes field with nothing written into it is removed, tag and all', () => {
    const w = new WireWriter();
    w.string(1, 'a');
    const mark = w.position;
    w.begin(2).endImplicit(mark);
    w.string(3, 'b');
    assert.equal(hex(w.finish()), hex(new Uint8Array([0x0a, 1, 0x61, 0x1a, 1, 0x62])));
  });

  test('finishing with a field still open is a programming error', () => {
    const w = new WireWriter();
    w.begin(1);
    assert.throws(() => w.finish(), /1 open fields/);
  });
});
