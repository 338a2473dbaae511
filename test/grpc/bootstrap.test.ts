// The gRPC bootstrap: its shape, that grpc-js-xds's own bootstrap parser accepts it, and the CLI that prints it.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { buildGrpcBootstrap, durationString } from '../../src/envoy/grpc/bootstrap.js';
import { EnvoyGenerateError } from '../../src/envoy/errors.js';
import { tcpXdsEndpoint } from '../../src/envoy/bootstrap.js';
import { bootstrap } from '../../src/cli/commands/generate.js';
import { silentLogger } from '../../src/observe/log.js';
import { mesh, service } from '../envoy/fixtures/meshes.js';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { validateBootstrapConfig } = require('@grpc/grpc-js-xds/build/src/xds-bootstrap.js') as { validateBootstrapConfig(o: unknown): Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any

const m = mesh(`
trustDomain: example.org
services:
  - name: greeter
    spiffeId: spiffe://example.org/ns/shop/sa/greeter
    target: grpc
    address: 10.0.0.1
    inbound: [{ port: 50051, appPort: 1, protocol: grpc }]
  - name: web
    spiffeId: spiffe://example.org/web
`);

describe('gRPC bootstrap', () => {
  test('over the Unix socket: insecure channel creds, node with cluster and locality, the file_watcher on the SVID files', () => {
    const b = buildGrpcBootstrap(m, service(m, 'greeter'), { xds: { kind: 'unix', path: '/run/tp/xds.sock' }, svidDir: '/run/tp/svids', refreshIntervalMs: 1000, locality: { zone: 'z1' } });
    const dir = '/run/tp/svids/example.org/ns/shop/sa/greeter';
    assert.deepEqual(b, {
      xds_servers: [{ server_uri: 'unix:/run/tp/xds.sock', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'greeter', cluster: 'greeter', locality: { zone: 'z1' } },
      certificate_providers: {
        trustplane: {
          plugin_name: 'file_watcher',
          config: { certificate_file: `${dir}/svid.pem`, private_key_file: `${dir}/svid_key.pem`, ca_certificate_file: `${dir}/svid_bundle.pem`, refresh_interval: '1s' },
        },
      },
      server_listener_resource_name_template: 'grpc/server?xds.resource.listening_address=%s',
    });
    const parsed = validateBootstrapConfig(b);
    assert.equal(parsed['certificateProviders'].trustplane.config.refreshIntervalMs, 1000);
    assert.equal(parsed['serverListenerResourceNameTemplate'], 'grpc/server?xds.resource.listening_address=%s');
  });

  test('over TCP: gRFC A65 tls channel creds with the node SVID files (grpc-js 1.14 itself only knows insecure)', () => {
    const b = buildGrpcBootstrap(m, service(m, 'greeter'), { xds: tcpXdsEndpoint('cp.example.org', 18000) }) as { xds_servers: unknown[] };
    assert.deepEqual(b.xds_servers, [
      {
        server_uri: 'cp.example.org:18000',
        channel_creds: [{ type: 'tls', config: { certificate_file: '/etc/trustplane/node/svid.pem', private_key_file: '/etc/trustplane/node/svid_key.pem', ca_certificate_file: '/etc/trustplane/node/svid_bundle.pem', refresh_interval: '10s' } }],
        server_features: ['xds_v3'],
      },
    ]);
    assert.throws(() => validateBootstrapConfig(b), /channel_creds/);
  });

  const durations: [number, string][] = [[1000, '1s'], [250, '0.250s'], [90_500, '90.500s']];
  for (const [ms, s] of durations) test(`refresh_interval ${ms} ms → "${s}"`, () => assert.equal(durationString(ms), s));
  test('a refresh interval of 0 is refused', () => assert.throws(() => durationString(0), RangeError));

  test('a service that is not target grpc gets no gRPC bootstrap: NOT_A_GRPC_SERVICE', () => {
    assert.throws(() => buildGrpcBootstrap(m, service(m, 'web')), (e: unknown) => e instanceof EnvoyGenerateError && e.code === 'NOT_A_GRPC_SERVICE');
  });

  test('`trustplane bootstrap --service greeter --target grpc` prints JSON grpc-js-xds accepts', async () => {
    const out: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: () => true }, logger: () => silentLogger };
    const examples = fileURLToPath(new URL('../../../examples/grpc.yaml', import.meta.url));
    const code = await bootstrap.run({ values: { service: 'greeter', mesh: examples, target: 'grpc', xds: 'unix:/run/tp/xds.sock', 'svid-dir': '/run/tp/svids', 'refresh-interval': '2s' }, positionals: [], io });
    assert.equal(code, 0);
    const parsed = validateBootstrapConfig(JSON.parse(out.join('')));
    assert.equal(parsed['node'].cluster, 'greeter');
    assert.equal(parsed['certificateProviders'].trustplane.config.certificateFile, '/run/tp/svids/example.org/ns/shop/sa/greeter/svid.pem');
  });
});
