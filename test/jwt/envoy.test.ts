// requireJwt in the generated Envoy config: jwt_authn (one provider per caller trust domain, remote JWKS from
// trustplane), an HTTP RBAC rule admitting exactly the allowed callers by the verified sub, x-spiffe-id from the
// verified sub only; mTLS unaffected; byte-stable. And the JWKS URI the config names, served by a running control
// plane, verifies the CA's JWT-SVIDs (jose's remote JWK set standing in for Envoy's fetch).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { ListenerSchema } from '#gen/envoy/config/listener/v3/listener_pb';
import { ManualClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { buildServiceResources } from '../../src/envoy/resources.js';
import { jwksEndpoint, resourceOptions } from '../../src/envoy/options.js';
import { parseMesh } from '../../src/mesh/parse.js';
import { silentLogger } from '../../src/observe/log.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { asJson, type J } from '../envoy/fixtures/json.js';

const ROOT = process.cwd();
const text = readFileSync(join(ROOT, 'examples', 'jwt.yaml'), 'utf8');
const mesh = parseMesh(text, 'jwt.yaml');
const svc = (name: string) => mesh.services.find((s) => s.name === name)!;
const listenerJson = (m = mesh, name = 'api', opts = resourceOptions()) => asJson(ListenerSchema, buildServiceResources(m, m.services.find((s) => s.name === name)!, opts).listeners[0]!);
const hcmOf = (chain: J): J => chain.filters.find((f: J) => f.name === 'envoy.filters.network.http_connection_manager').typed_config;

describe('requireJwt in the generated Envoy config', () => {
  test('every chain of a requireJwt port: jwt_authn, HTTP RBAC, router; an mTLS chain keeps its network RBAC first', () => {
    for (const name of ['api', 'worker']) {
      const l = listenerJson(mesh, name);
      assert.ok(l.filter_chains.length >= 1);
      for (const chain of l.filter_chains) {
        assert.deepEqual(hcmOf(chain).http_filters.map((f: J) => f.name), ['envoy.filters.http.jwt_authn', 'envoy.filters.http.rbac', 'envoy.filters.http.router'], `${name} ${chain.name}`);
        if (chain.transport_socket) assert.equal(chain.filters[0].name, 'envoy.filters.network.rbac');
      }
    }
    // PERMISSIVE: the token is required on the plaintext chain as on the mTLS one.
    const worker = listenerJson(mesh, 'worker').filter_chains as J[];
    assert.ok(worker.some((c) => c.transport_socket) && worker.some((c) => !c.transport_socket), 'worker has mTLS and plaintext chains');
    // A port without requireJwt is untouched.
    assert.deepEqual(hcmOf(listenerJson(mesh, 'web').filter_chains[0]).http_filters.map((f: J) => f.name), ['envoy.filters.http.router']);
  });

  test('one provider per caller trust domain, each with only its own JWKS and the port\'s audiences; any of them may verify', () => {
    const jwt = hcmOf(listenerJson().filter_chains[0]).http_filters[0].typed_config;
    assert.deepEqual(Object.keys(jwt.providers), ['example.org', 'partner.example.net']);
    for (const [td, p] of Object.entries(jwt.providers as Record<string, J>)) {
      assert.deepEqual(p.audiences, ['spiffe://example.org/ns/shop/sa/api']);
      assert.equal(p.remote_jwks.http_uri.uri, `http://127.0.0.1:18080/jwt/keys/${td}`);
      assert.equal(p.remote_jwks.http_uri.cluster, 'trustplane_jwks');
      assert.equal(p.payload_in_metadata, td);
      assert.equal(p.require_expiration, true);
      assert.ok(Number.parseInt(p.remote_jwks.cache_duration) <= 300);
    }
    assert.deepEqual(jwt.rules, [{ match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'example.org' }, { provider_name: 'partner.example.net' }] } } }]);
    const worker = hcmOf(listenerJson(mesh, 'worker').filter_chains[0]).http_filters[0].typed_config;
    assert.deepEqual(worker.rules[0].requires, { provider_name: 'example.org' });
    assert.deepEqual(worker.providers['example.org'].audiences, ['spiffe://example.org/ns/jobs/sa/worker', 'worker']);
  });

  test('HTTP RBAC admits exactly the allowed callers by the sub their own domain\'s provider verified; members never include trustplane IDs', () => {
    const rbac = (name: string) => hcmOf(listenerJson(mesh, name).filter_chains[0]).http_filters[1].typed_config.rules;
    const api = rbac('api').policies['jwt-callers'].principals;
    assert.deepEqual(api.map((p: J) => [p.metadata.path.map((s: J) => s.key), p.metadata.value.string_match]), [
      [['example.org', 'sub'], { exact: 'spiffe://example.org/ns/shop/sa/web' }],
      [['partner.example.net', 'sub'], { exact: 'spiffe://partner.example.net/billing' }],
    ]);
    const worker = rbac('worker').policies['jwt-callers'].principals;
    assert.deepEqual(worker, [{ and_ids: { ids: [
      { metadata: { filter: 'envoy.filters.http.jwt_authn', path: [{ key: 'example.org' }, { key: 'sub' }], value: { string_match: { prefix: 'spiffe://example.org/' } } } },
      { not_id: { metadata: { filter: 'envoy.filters.http.jwt_authn', path: [{ key: 'example.org' }, { key: 'sub' }], value: { string_match: { prefix: 'spiffe://example.org/trustplane/' } } } } },
    ] } }]);
    // No allowed caller: ALLOW with no policy denies every request.
    const none = parseMesh(text.replace(/    allowedCallers:\n      - service: web\n      - spiffeId: spiffe:\/\/partner.example.net\/billing\n/, '    allowedCallers: []\n'), 'jwt.yaml');
    assert.deepEqual(hcmOf(listenerJson(none).filter_chains[0]).http_filters[1].typed_config.rules, {});
  });

  test('x-spiffe-id: whatever the client sent is removed, then set from the verified sub only', () => {
    const rc = hcmOf(listenerJson().filter_chains[0]).route_config;
    assert.deepEqual(rc.request_headers_to_remove, ['x-spiffe-id']);
    assert.deepEqual(rc.request_headers_to_add.map((h: J) => h.header.value), [
      '%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:example.org:sub)%',
      '%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:partner.example.net:sub)%',
    ]);
  });

  test('the JWKS cluster is generated only for services with a requireJwt port; the output is byte-stable', () => {
    const clusters = (name: string) => buildServiceResources(mesh, svc(name)).clusters.map((c) => c.name);
    assert.ok(clusters('api').includes('trustplane_jwks'));
    assert.ok(!clusters('web').includes('trustplane_jwks'));
    const bytes = (m = mesh) => Buffer.from(toBinary(ListenerSchema, buildServiceResources(m, m.services.find((s) => s.name === 'worker')!).listeners[0]!)).toString('hex');
    const reordered = parseMesh(text.replace('audiences: [worker, spiffe://example.org/ns/jobs/sa/worker]', 'audiences: [spiffe://example.org/ns/jobs/sa/worker, worker, worker]'), 'jwt.yaml');
    assert.equal(bytes(), bytes(parseMesh(text, 'jwt.yaml')));
    assert.equal(bytes(reordered), bytes());
  });

  test('a running control plane serves the JWKS the config names, and it verifies the CA\'s JWT-SVIDs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-jwt-envoy-'));
    for (const f of ['jwt.yaml', 'partner-bundle.pem']) copyFileSync(join(ROOT, 'examples', f), join(dir, f));
    const clock = new ManualClock(Date.now());
    const cp = await ControlPlane.start(
      { dataDir: join(dir, 'data'), meshFile: join(dir, 'jwt.yaml'), unixSocket: '', tcpAddress: '', adminAddress: '127.0.0.1:0', insecure: false, drainMs: 0 },
      { clock, logger: silentLogger, watch: false },
    );
    try {
      const opts = resourceOptions({ jwks: jwksEndpoint(cp.adminAddress!) });
      const provider = hcmOf(listenerJson(cp.mesh, 'api', opts).filter_chains[0]).http_filters[0].typed_config.providers['example.org'];
      const jwks = createRemoteJWKSet(new URL(provider.remote_jwks.http_uri.uri));
      const svid = await cp.ca.jwt.mint(SpiffeId.parse('spiffe://example.org/ns/shop/sa/web'), provider.audiences);
      const v = await jwtVerify(svid.token, jwks, { audience: provider.audiences, currentDate: new Date(clock.now()) });
      assert.equal(v.payload.sub, 'spiffe://example.org/ns/shop/sa/web');
      const r = await fetch(provider.remote_jwks.http_uri.uri.replace('example.org', 'nowhere.test'));
      assert.equal(r.status, 404);
      const ok = await fetch(provider.remote_jwks.http_uri.uri);
      assert.ok(Number(/max-age=(\d+)/.exec(ok.headers.get('cache-control')!)![1]) <= Number.parseInt(provider.remote_jwks.cache_duration));
    } finally {
      await cp.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
