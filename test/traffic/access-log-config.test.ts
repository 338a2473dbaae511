// The generator's side of the evidence: every inbound listener of every generated target (sidecar, gateway, VM)
// and every mode logs each connection to trustplane's xDS cluster, with tags from which the receiver tells the
// service, port, mode and chain; the config is strict-valid and byte-stable; `accessLogs: false` removes it all.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildNodeResources } from '../../src/envoy/resources.js';
import { fromBinary, toJsonString } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { BootstrapSchema } from '#gen/envoy/config/bootstrap/v3/bootstrap_pb';
import { buildBootstrap } from '../../src/envoy/bootstrap.js';
import { envoyRegistry } from '../../src/envoy/registry.js';
import { checkEnvoyBinary } from '../../src/envoy/strict.js';
import { inboundListenerName, XDS_CLUSTER } from '../../src/envoy/names.js';
import { LISTENER_TYPE_URL } from '../../src/envoy/type-urls.js';
import { ACCESS_LOG_NAME, ACCESS_LOG_TAGS } from '../../src/envoy/access-log.js';
import { parseMesh } from '../../src/mesh/parse.js';
import type { MeshModel } from '../../src/mesh/model.js';
import { classify } from '../../src/traffic/classify.js';
import { startRunning } from './fixtures.js';

const EXAMPLES = ['mesh.yaml', 'federation.yaml', 'gateway.yaml', 'vm-istio.yaml', 'grpc.yaml'];
const load = (name: string, edit = (t: string) => t): MeshModel => parseMesh(edit(readFileSync(join(process.cwd(), 'examples', name), 'utf8')), name);
/** The examples, plus variants that reach what they lack: a DISABLE sidecar port, a gateway with a mesh inbound port. */
const MESHES: (() => MeshModel)[] = [
  ...EXAMPLES.map((e) => () => load(e)),
  () => load('mesh.yaml', (t) => t.replace('defaultMode: PERMISSIVE', 'defaultMode: DISABLE')),
  () => load('gateway.yaml', (t) => t.replace('    target: gateway\n', '    target: gateway\n    inbound:\n      - { port: 15006, appPort: 8080, protocol: http }\n')),
];

type Json = Record<string, unknown>;
interface Logger {
  name: string;
  typedConfig: { '@type': string; commonConfig: { logName: string; grpcService: { envoyGrpc: { clusterName: string } }; transportApiVersion: string; customTags: { tag: string; literal: { value: string } }[] } };
}

const tagsOf = (l: Logger): Record<string, string> => Object.fromEntries(l.typedConfig.commonConfig.customTags.map((t) => [t.tag, t.literal.value]));

function listenerJson(mesh: MeshModel, service: string, name: string): Json {
  const r = buildNodeResources(mesh, mesh.serviceByName(service)!).find((x) => x.typeUrl === LISTENER_TYPE_URL && x.name === name)!;
  return checkEnvoyBinary(LISTENER_TYPE_URL, r.bytes, `${service}/${name}`) as Json;
}

test('every inbound listener of every generated target and mode logs each connection to trustplane, tagged so the receiver tells service, port, mode and chain', () => {
  const seen = new Set<string>();
  const facts = { source: '10.0.0.1', peerSpiffeId: '', connectionTerminationDetails: '', downstreamTransportFailureReason: '', responseCodeDetails: '', tls: false, noFilterChain: false };
  for (const make of MESHES) {
    const mesh = make();
    for (const s of mesh.services) {
      if (s.target === 'grpc') continue; // proxyless gRPC has no Envoy: "no evidence"
      const bootstrap = toJsonString(BootstrapSchema, buildBootstrap(mesh, s), { registry: envoyRegistry });
      assert.ok(bootstrap.includes(`"${XDS_CLUSTER}"`), `${s.name}: the bootstrap has the trustplane cluster the logger uses`);
      for (const ib of s.inbound) {
        const l = listenerJson(mesh, s.name, inboundListenerName(ib));
        const logs = l['accessLog'] as Logger[];
        assert.equal(logs.length, 1, `${s.name}:${ib.port}: one logger, on the listener (one entry per connection)`);
        const log = logs[0]!;
        assert.equal(log.name, 'envoy.access_loggers.tcp_grpc');
        const cc = log.typedConfig.commonConfig;
        assert.deepEqual([cc.logName, cc.grpcService.envoyGrpc.clusterName, cc.transportApiVersion], [ACCESS_LOG_NAME, XDS_CLUSTER, 'V3']);
        const tags = tagsOf(log);
        assert.deepEqual(tags, { [ACCESS_LOG_TAGS.service]: s.name, [ACCESS_LOG_TAGS.port]: String(ib.port), [ACCESS_LOG_TAGS.mode]: ib.mode });
        assert.doesNotMatch(JSON.stringify(l['filterChains']), /accessLog/, 'no logger on a chain: a connection is logged once');
        // What the receiver makes of the entries this listener sends, for each chain it has, and for no chain.
        for (const chain of l['filterChains'] as Json[]) {
          const mtls = chain['name'] === 'mtls';
          assert.equal(mtls, JSON.stringify(chain).includes('DownstreamTlsContext'), 'the only TLS chain is the mTLS chain');
          const c = classify({ ...facts, tags, tls: mtls, peerSpiffeId: mtls ? 'spiffe://example.org/x' : '' });
          assert.deepEqual(c, { service: s.name, port: ib.port, kind: mtls ? 'mtls' : 'plaintext', source: mtls ? 'spiffe://example.org/x' : '10.0.0.1' });
          seen.add(`${s.target} ${ib.mode} ${String(chain['name'])}`);
        }
        assert.deepEqual(classify({ ...facts, tags, noFilterChain: true }), { service: s.name, port: ib.port, kind: 'plaintext', source: '10.0.0.1' });
        assert.equal((classify({ ...facts, tags, downstreamTransportFailureReason: 'TLS_error' }) as { kind: string }).kind, 'handshake_failure');
        assert.equal((classify({ ...facts, tags, tls: true, connectionTerminationDetails: 'rbac_access_denied_matched_policy[none]' }) as { kind: string }).kind, 'rbac_denied');
      }
    }
  }
  for (const want of ['sidecar PERMISSIVE mtls', 'sidecar PERMISSIVE plaintext', 'sidecar STRICT mtls', 'sidecar DISABLE plaintext', 'gateway', 'vm']) {
    assert.ok([...seen].some((k) => k.startsWith(want)), `covered: ${want} (seen: ${[...seen].sort().join('; ')})`);
  }
});

test('byte-stable: the same description gives the same bytes', () => {
  for (const example of EXAMPLES) {
    const a = load(example);
    const b = load(example);
    for (const s of a.services) {
      if (s.target === 'grpc') continue;
      assert.deepEqual(buildNodeResources(a, s).map((r) => Buffer.from(r.bytes).toString('base64')), buildNodeResources(b, b.serviceByName(s.name)!).map((r) => Buffer.from(r.bytes).toString('base64')));
    }
  }
});

test('accessLogs: false turns every logger off', () => {
  const mesh = load('mesh.yaml', (t) => t.replace('defaultMode: PERMISSIVE', 'defaultMode: PERMISSIVE\naccessLogs: false'));
  assert.equal(mesh.accessLogs, false);
  for (const s of mesh.services) {
    for (const r of buildNodeResources(mesh, s)) {
      assert.doesNotMatch(JSON.stringify(checkEnvoyBinary(r.typeUrl, r.bytes)), /accessLog|trustplane\.service/);
    }
  }
});

test('a reload that turns access logs off (or on) regenerates and serves every listener accordingly', async () => {
  const r = await startRunning();
  try {
    const served = (): string => {
      const any = r.cp.resources.get('orders', LISTENER_TYPE_URL, 'inbound_9000')!.any;
      return JSON.stringify(checkEnvoyBinary(LISTENER_TYPE_URL, fromBinary(AnySchema, any).value));
    };
    assert.match(served(), /trustplane\.service/);
    r.reload({ accessLogs: false });
    assert.doesNotMatch(served(), /accessLog|trustplane\.service/);
    r.reload({});
    assert.match(served(), /trustplane\.service/);
  } finally {
    await r.close();
  }
});
