import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml, stringify } from 'yaml';
import { checkMesh, meshJsonSchema } from '../../src/mesh/index.js';
import { BAD_CASES } from './bad-inputs.js';
import { EXAMPLES, readExample } from './examples.js';
import { jsonSchemaErrors } from './json-schema-check.js';

type Obj = { [k: string]: unknown };
const schema = meshJsonSchema() as Obj;

/** A description using every kind of map the format has. */
function kitchenSink(): Obj {
  return {
    trustDomain: 'example.org',
    defaultMode: 'STRICT',
    accessLogs: true,
    federation: [{ trustDomain: 'partner.net', bundleFile: 'p.pem', format: 'pem', bundleEndpoint: { url: 'https://bundle.partner.net/', profile: 'https_spiffe', endpointSpiffeId: 'spiffe://partner.net/trustplane/server' } }],
    services: [
      {
        name: 'a',
        spiffeId: 'spiffe://example.org/a',
        address: 'a.internal',
        target: 'sidecar',
        nodes: ['uid:1001', 'node:a-1'],
        mode: 'PERMISSIVE',
        force: false,
        inbound: [{ port: 15006, appPort: 8080, appAddress: '127.0.0.1', protocol: 'http', mode: 'STRICT', force: true, requireJwt: { audiences: ['spiffe://example.org/a'] } }],
        outbound: [
          { service: 'b', port: 15006, listenPort: 15101 },
          { name: 'p', endpoints: [{ address: 'p.partner.net', port: 443 }], port: 443, protocol: 'grpc', spiffeIds: ['spiffe://partner.net/p'], mode: 'STRICT', listenPort: 15102 },
        ],
        allowedCallers: [{ spiffeId: 'spiffe://partner.net/x' }, { service: 'b' }, { trustDomain: 'partner.net' }],
      },
      { name: 'b', spiffeId: 'spiffe://example.org/b', inbound: [{ port: 15006, appPort: 8080, protocol: 'http' }] },
      {
        name: 'edge',
        spiffeId: 'spiffe://example.org/edge',
        target: 'gateway',
        outbound: [{ service: 'b' }],
        gateway: {
          listeners: [
            {
              port: 443,
              hosts: ['shop.example.com', '*.shop.example.com'],
              tls: { certificateFile: '/etc/tls/tls.crt', privateKeyFile: '/etc/tls/tls.key', clientCaFile: '/etc/tls/ca.crt', requireClientCertificate: true },
            },
          ],
          routes: [{ host: 'shop.example.com', pathPrefix: '/api/', dependency: 'b' }],
        },
      },
      {
        name: 'vm',
        spiffeId: 'spiffe://example.org/vm',
        target: 'vm',
        outbound: [
          {
            name: 'reviews',
            address: 'istio-eastwest.example.net',
            port: 15443,
            protocol: 'http',
            istio: { host: 'reviews.bookinfo.svc.cluster.local', port: 9080, namespace: 'bookinfo', serviceAccount: 'bookinfo-reviews', trustDomain: 'partner.net' },
          },
          { name: 'legacy', address: 'legacy.partner.net', port: 443, spiffeIds: ['spiffe://partner.net/legacy'], sni: 'legacy.partner.net', alpn: ['h2'] },
        ],
      },
      { name: 'greeter', spiffeId: 'spiffe://example.org/greeter', target: 'grpc', inbound: [{ port: 50051, appPort: 1, protocol: 'grpc', listenAddress: '10.0.1.10' }] },
    ],
  };
}

// Where each map of the format sits: in the kitchen sink (a path of keys) and in the JSON Schema (a path of keys).
const MAPS: { name: string; doc: (string | number)[]; schema: (string | number)[]; path: string; unused?: string[] }[] = [
  { name: 'mesh', doc: [], schema: [], path: '' },
  { name: 'federation entry', doc: ['federation', 0], schema: ['properties', 'federation', 'items'], path: 'federation[0]' },
  { name: 'service', doc: ['services', 0], schema: ['properties', 'services', 'items'], path: 'services[0]', unused: ['gateway' /* target gateway only: services[2] uses it */] },
  { name: 'inbound port', doc: ['services', 0, 'inbound', 0], schema: ['properties', 'services', 'items', 'properties', 'inbound', 'items'], path: 'services[0].inbound[0]', unused: ['listenAddress' /* target grpc only: services[4] uses it */] },
  { name: 'requireJwt', doc: ['services', 0, 'inbound', 0, 'requireJwt'], schema: ['properties', 'services', 'items', 'properties', 'inbound', 'items', 'properties', 'requireJwt'], path: 'services[0].inbound[0].requireJwt' },
  { name: 'mesh dependency', doc: ['services', 0, 'outbound', 0], schema: ['properties', 'services', 'items', 'properties', 'outbound', 'items', 'oneOf', 0], path: 'services[0].outbound[0]' },
  { name: 'external dependency', doc: ['services', 0, 'outbound', 1], schema: ['properties', 'services', 'items', 'properties', 'outbound', 'items', 'oneOf', 1], path: 'services[0].outbound[1]', unused: ['address' /* excludes endpoints */, 'istio', 'sni', 'alpn' /* vm and gateway targets only: services[3] uses them */] },
  { name: 'endpoint', doc: ['services', 0, 'outbound', 1, 'endpoints', 0], schema: ['properties', 'services', 'items', 'properties', 'outbound', 'items', 'oneOf', 1, 'properties', 'endpoints', 'items'], path: 'services[0].outbound[1].endpoints[0]' },
  { name: 'caller by SPIFFE ID', doc: ['services', 0, 'allowedCallers', 0], schema: ['properties', 'services', 'items', 'properties', 'allowedCallers', 'items', 'oneOf', 0], path: 'services[0].allowedCallers[0]' },
  { name: 'caller by service', doc: ['services', 0, 'allowedCallers', 1], schema: ['properties', 'services', 'items', 'properties', 'allowedCallers', 'items', 'oneOf', 1], path: 'services[0].allowedCallers[1]' },
  { name: 'Istio destination', doc: ['services', 3, 'outbound', 0, 'istio'], schema: ['properties', 'services', 'items', 'properties', 'outbound', 'items', 'oneOf', 1, 'properties', 'istio'], path: 'services[3].outbound[0].istio' },
  { name: 'gateway', doc: ['services', 2, 'gateway'], schema: ['properties', 'services', 'items', 'properties', 'gateway'], path: 'services[2].gateway' },
  { name: 'gateway listener', doc: ['services', 2, 'gateway', 'listeners', 0], schema: ['properties', 'services', 'items', 'properties', 'gateway', 'properties', 'listeners', 'items'], path: 'services[2].gateway.listeners[0]' },
  { name: 'gateway TLS', doc: ['services', 2, 'gateway', 'listeners', 0, 'tls'], schema: ['properties', 'services', 'items', 'properties', 'gateway', 'properties', 'listeners', 'items', 'properties', 'tls'], path: 'services[2].gateway.listeners[0].tls' },
  { name: 'gateway route', doc: ['services', 2, 'gateway', 'routes', 0], schema: ['properties', 'services', 'items', 'properties', 'gateway', 'properties', 'routes', 'items'], path: 'services[2].gateway.routes[0]' },
  { name: 'bundle endpoint', doc: ['federation', 0, 'bundleEndpoint'], schema: ['properties', 'federation', 'items', 'properties', 'bundleEndpoint'], path: 'federation[0].bundleEndpoint' },
  { name: 'caller by trust domain', doc: ['services', 0, 'allowedCallers', 2], schema: ['properties', 'services', 'items', 'properties', 'allowedCallers', 'items', 'oneOf', 2], path: 'services[0].allowedCallers[2]' },
];

function dig(v: unknown, keys: (string | number)[]): Obj {
  return keys.reduce<unknown>((o, k) => (o as Obj)[k], v) as Obj;
}

function countObjectSchemas(s: unknown): number {
  if (typeof s !== 'object' || s === null) return 0;
  const self = (s as Obj)['type'] === 'object' ? 1 : 0;
  return self + Object.values(s as Obj).reduce<number>((n, v) => n + (Array.isArray(v) ? v.reduce<number>((m, x) => m + countObjectSchemas(x), 0) : countObjectSchemas(v)), 0);
}

describe('JSON Schema', () => {
  test('is draft 2020-12, JSON-serializable, and closed at the top', () => {
    assert.equal(schema['$schema'], 'https://json-schema.org/draft/2020-12/schema');
    assert.deepEqual(JSON.parse(JSON.stringify(schema)), schema);
    assert.equal(schema['additionalProperties'], false);
    assert.deepEqual(schema['required'], ['trustDomain', 'services']);
  });

  for (const name of EXAMPLES) {
    test(`${name} validates against the schema and parses`, () => {
      const text = readExample(name);
      assert.deepEqual(jsonSchemaErrors(schema, parseYaml(text)), []);
      assert.equal(checkMesh(text, name).ok, true);
    });
  }

  test('the kitchen sink validates against the schema and parses', () => {
    assert.deepEqual(jsonSchemaErrors(schema, kitchenSink()), []);
    const r = checkMesh(stringify(kitchenSink()), 'sink.yaml');
    assert.deepEqual(r.ok ? [] : r.problems, []);
  });

  test('the table below covers every map of the schema', () => {
    assert.equal(countObjectSchemas(schema), MAPS.length);
  });

  for (const m of MAPS) {
    test(`${m.name}: the validator accepts exactly the keys the schema lists`, () => {
      const doc = kitchenSink();
      dig(doc, m.doc)['zzzUnknown'] = 1;
      assert.ok(jsonSchemaErrors(schema, doc).length > 0, 'the schema rejects an unknown key');
      const r = checkMesh(stringify(doc), 'sink.yaml');
      assert.equal(r.ok, false);
      const problems = r.ok ? [] : r.problems;
      assert.deepEqual(problems.map((p) => [p.code, p.path]), [['UNKNOWN_KEY', m.path === '' ? 'zzzUnknown' : `${m.path}.zzzUnknown`]]);
      const accepted = problems[0]!.accepted!.split(', ');
      assert.deepEqual(accepted, Object.keys(dig(schema, m.schema)['properties'] as Obj));
    });
  }

  test('every documented key of every map is accepted by the validator', () => {
    for (const m of MAPS) {
      const keys = Object.keys(dig(schema, m.schema)['properties'] as Obj);
      const present = [...Object.keys(dig(kitchenSink(), m.doc)), ...(m.unused ?? [])];
      assert.deepEqual(keys.filter((k) => !present.includes(k)), [], `${m.name}: the kitchen sink uses every key`);
    }
  });

  describe('bad inputs: the schema rejects the structural ones and accepts the cross-reference ones', () => {
    for (const c of BAD_CASES) {
      let value: unknown;
      try {
        value = parseYaml(c.yaml, { uniqueKeys: true });
      } catch {
        continue; // not YAML at all: no JSON for the schema to judge
      }
      test(c.name, () => {
        const errors = jsonSchemaErrors(schema, value);
        if (c.semantic) assert.deepEqual(errors, []);
        else assert.ok(errors.length > 0, 'the schema must reject it');
      });
    }
  });
});
