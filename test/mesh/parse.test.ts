import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMesh, type Mode, type ModeSource } from '../../src/mesh/index.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { readExample } from './examples.js';

const id = (s: string) => SpiffeId.parse(s);

describe('examples/mesh.yaml resolves', () => {
  const m = parseMesh(readExample('examples/mesh.yaml'), 'examples/mesh.yaml');

  test('trust domain, default mode and service order', () => {
    assert.equal(m.trustDomain.name, 'example.org');
    assert.equal(m.defaultMode, 'PERMISSIVE');
    assert.deepEqual(m.services.map((s) => s.name), ['web', 'orders', 'payments', 'inventory', 'reports']);
  });

  test('effective modes per service and port, with where they came from', () => {
    const got = m.services.map((s) => [s.name, s.mode, s.modeSource, s.inbound.map((p) => `${p.port}:${p.mode}:${p.modeSource}`)]);
    assert.deepEqual(got, [
      ['web', 'PERMISSIVE', 'mesh', ['15006:PERMISSIVE:mesh']],
      ['orders', 'STRICT', 'service', ['15006:STRICT:service']],
      ['payments', 'STRICT', 'service', ['15006:STRICT:service']],
      ['inventory', 'PERMISSIVE', 'mesh', ['15006:PERMISSIVE:mesh']],
      ['reports', 'DISABLE', 'service', []],
    ]);
  });

  test('outbound dependencies resolve to address, port, protocol, server IDs and server mode', () => {
    const orders = m.serviceByName('orders')!;
    assert.deepEqual(
      orders.outbound.map((o) => ({ kind: o.kind, name: o.name, endpoints: o.endpoints, protocol: o.protocol, ids: o.spiffeIds.map(String), serverMode: o.serverMode, listenPort: o.listenPort })),
      [
        { kind: 'service', name: 'payments', endpoints: [{ address: 'payments', port: 15006 }], protocol: 'grpc', ids: ['spiffe://example.org/ns/shop/sa/payments'], serverMode: 'STRICT', listenPort: 15101 },
        { kind: 'service', name: 'inventory', endpoints: [{ address: 'inventory', port: 15006 }], protocol: 'tcp', ids: ['spiffe://example.org/ns/shop/sa/inventory'], serverMode: 'PERMISSIVE', listenPort: 15102 },
      ],
    );
  });

  test('allowed callers: service entries become exact IDs, trust domains stay matchers', () => {
    const inventory = m.serviceByName('inventory')!;
    assert.equal(inventory.allowedCallers.implicit, false);
    assert.deepEqual(inventory.allowedCallers.spiffeIds.map(String), [
      'spiffe://example.org/ns/shop/sa/web',
      'spiffe://example.org/ns/shop/sa/orders',
      'spiffe://example.org/ns/batch/sa/reports',
    ]);
    assert.equal(m.admitsCaller(inventory, id('spiffe://example.org/ns/batch/sa/reports')), true);
    assert.equal(m.admitsCaller(inventory, id('spiffe://example.org/ns/shop/sa/payments')), false);
    const web = m.serviceByName('web')!;
    assert.deepEqual(web.allowedCallers.trustDomains.map(String), ['example.org']);
    assert.equal(m.admitsCaller(web, id('spiffe://example.org/anything')), true);
    assert.equal(m.admitsCaller(web, id('spiffe://example.com/anything')), false);
  });

  test('lookups by name, SPIFFE ID and node principal', () => {
    assert.equal(m.serviceByName('payments')?.spiffeId.toString(), 'spiffe://example.org/ns/shop/sa/payments');
    assert.equal(m.serviceByName('nope'), undefined);
    assert.equal(m.serviceBySpiffeId('spiffe://example.org/ns/shop/sa/orders')?.name, 'orders');
    assert.equal(m.serviceBySpiffeId(id('spiffe://example.org/ns/shop/sa/orders'))?.name, 'orders');
    assert.deepEqual(m.serviceByName('payments')!.nodes, [{ kind: 'uid', uid: 1003 }, { kind: 'node', name: 'payments-1' }]);
    assert.deepEqual(m.servicesForPrincipal({ kind: 'node', name: 'payments-1' }).map((s) => s.name), ['payments']);
    assert.deepEqual(m.servicesForPrincipal({ kind: 'uid', uid: 1001 }).map((s) => s.name), ['web']);
    assert.deepEqual(m.servicesForPrincipal({ kind: 'uid', uid: 4242 }), []);
  });

  test('the model is frozen', () => {
    assert.ok(Object.isFrozen(m));
    assert.ok(Object.isFrozen(m.services));
    assert.ok(Object.isFrozen(m.services[0]!.inbound[0]));
    assert.ok(Object.isFrozen(m.services[1]!.outbound[0]!.endpoints));
    assert.throws(() => (m.services as unknown as unknown[]).push(1), TypeError);
  });

  test('locate gives 1-based positions of field paths', () => {
    assert.deepEqual(m.locate('services[2].mode'), { line: 48, column: 11 });
    assert.equal(m.locate('services[9]'), undefined);
  });
});

describe('mode resolution: port → service → mesh default (PERMISSIVE)', () => {
  const cases: { name: string; defaultMode?: Mode; service?: Mode; port?: Mode; want: [Mode, ModeSource] }[] = [
    { name: 'nothing set: PERMISSIVE from the mesh', want: ['PERMISSIVE', 'mesh'] },
    { name: 'mesh default STRICT', defaultMode: 'STRICT', want: ['STRICT', 'mesh'] },
    { name: 'service overrides the mesh', defaultMode: 'STRICT', service: 'DISABLE', want: ['DISABLE', 'service'] },
    { name: 'port overrides the service', service: 'STRICT', port: 'PERMISSIVE', want: ['PERMISSIVE', 'port'] },
    { name: 'port overrides the mesh', defaultMode: 'DISABLE', port: 'STRICT', want: ['STRICT', 'port'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const yaml = [
        'trustDomain: example.org',
        c.defaultMode ? `defaultMode: ${c.defaultMode}` : '',
        'services:',
        '  - name: a',
        '    spiffeId: spiffe://example.org/a',
        c.service ? `    mode: ${c.service}` : '',
        '    inbound:',
        '      - port: 15006',
        '        appPort: 8080',
        c.port ? `        mode: ${c.port}` : '',
        '  - name: b',
        '    spiffeId: spiffe://example.org/b',
        '    outbound: [{service: a}]',
      ].filter((l) => l !== '').join('\n');
      const m = parseMesh(yaml, 'm.yaml');
      const port = m.services[0]!.inbound[0]!;
      assert.deepEqual([port.mode, port.modeSource], c.want);
      assert.equal(m.services[1]!.outbound[0]!.serverMode, c.want[0]);
    });
  }
});

describe('federation and external dependencies', () => {
  test('examples/federation.yaml: bundle path resolved against the mesh file, format by extension', () => {
    const m = parseMesh(readExample('examples/federation.yaml'), 'examples/federation.yaml');
    assert.deepEqual(m.federation.map((f) => [f.trustDomain.name, f.bundleFile, f.format]), [['partner.example.net', 'examples/partner-bundle.pem', 'pem']]);
    assert.deepEqual(m.knownTrustDomains().map(String), ['prod.example.com', 'partner.example.net']);
    const out = m.serviceByName('checkout')!.outbound[0]!;
    assert.equal(out.kind, 'external');
    assert.deepEqual([out.name, out.endpoints, out.protocol, out.spiffeIds.map(String), out.serverMode], ['partner-api', [{ address: 'api.partner.example.net', port: 443 }], 'http', ['spiffe://partner.example.net/api'], 'STRICT']);
    const ledger = m.serviceByName('ledger')!;
    assert.equal(m.admitsCaller(ledger, id('spiffe://partner.example.net/auditor')), true);
    assert.equal(m.admitsCaller(ledger, id('spiffe://partner.example.net/api')), false);
  });

  test('bundle formats: .json is spiffe, explicit format wins, absolute paths are kept, no bundleFile stays undefined', () => {
    const m = parseMesh(
      'trustDomain: example.org\nfederation:\n  - {trustDomain: a.net, bundleFile: b/a.JSON}\n  - {trustDomain: b.net, bundleFile: b.json, format: pem}\n  - {trustDomain: c.net, bundleFile: /etc/c.pem}\n  - {trustDomain: d.net}\nservices: []\n',
      'conf/mesh.yaml',
    );
    assert.deepEqual(m.federation.map((f) => [f.bundleFile, f.format]), [['conf/b/a.JSON', 'spiffe'], ['conf/b.json', 'pem'], ['/etc/c.pem', 'pem'], [undefined, 'pem']]);
  });

  test('endpoints keep their own port or take the dependency\'s; plaintext external needs no spiffeIds', () => {
    const m = parseMesh(
      'trustDomain: example.org\nservices:\n  - name: a\n    spiffeId: spiffe://example.org/a\n    outbound:\n      - name: db\n        endpoints: [{address: 10.0.0.1}, {address: "::1", port: 5433}]\n        port: 5432\n        mode: DISABLE\n',
      'm.yaml',
    );
    const db = m.services[0]!.outbound[0]!;
    assert.deepEqual([db.endpoints, db.protocol, db.spiffeIds, db.serverMode], [[{ address: '10.0.0.1', port: 5432 }, { address: '::1', port: 5433 }], 'tcp', [], 'DISABLE']);
  });

  test('defaults: address = name, target sidecar, protocol tcp, appAddress 127.0.0.1, implicit callers = own trust domain; target is kept', () => {
    const m = parseMesh(
      'trustDomain: example.org\nservices:\n  - name: a\n    spiffeId: spiffe://example.org/a\n    inbound: [{port: 15006, appPort: 8080}]\n  - name: gw\n    spiffeId: spiffe://example.org/gw\n    target: vm\n    address: gw.internal\n',
      'm.yaml',
    );
    const [a, gw] = m.services;
    assert.deepEqual([a!.address, a!.target, a!.inbound[0]!.protocol, a!.inbound[0]!.appAddress, a!.nodes], ['a', 'sidecar', 'tcp', '127.0.0.1', []]);
    assert.equal(a!.allowedCallers.implicit, true);
    assert.deepEqual(a!.allowedCallers.trustDomains.map(String), ['example.org']);
    assert.deepEqual([gw!.address, gw!.target], ['gw.internal', 'vm']);
  });

  test('allowedCallers may name a service declared later', () => {
    const m = parseMesh('trustDomain: example.org\nservices:\n  - name: a\n    spiffeId: spiffe://example.org/a\n    allowedCallers: [{service: b}]\n  - name: b\n    spiffeId: spiffe://example.org/b\n', 'm.yaml');
    assert.deepEqual(m.services[0]!.allowedCallers.rules.map((r) => [r.kind, r.kind === 'trustDomain' ? r.trustDomain.name : r.spiffeId.toString(), r.path]), [['service', 'spiffe://example.org/b', 'services[0].allowedCallers[0]']]);
  });
});
