import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary } from '@bufbuild/protobuf';
import { DiscoveryRequestSchema, DiscoveryResponseSchema } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/clock.js';
import { IdentityStore } from '../../../src/store/identity-store.js';
import { TableIdentityPolicy } from '../../../src/xds/policy.js';
import { ResourceCache } from '../../../src/xds/cache/resource-cache.js';
import { XdsServer } from '../../../src/xds/server/server.js';
import { secretDiscoveryService } from '../../../src/xds/server/services.js';
import { spiffeChannelCredentials } from '../../../src/xds/node-attest/client.js';
import { startTransport } from '../../../src/xds/transport/transport.js';
import { issueSvid, makeCa } from './fixture-ca.js';
import { captureLog } from './harness.js';

const TD = 'example.org';
const SERVER_ID = `spiffe://${TD}/trustplane/server`;
const Sds = grpc.makeGenericClientConstructor({ StreamSecrets: secretDiscoveryService.StreamSecrets }, 'Sds');

function firstResponse(client: grpc.Client): Promise<{ ok: true; names: string[] } | { ok: false; code: grpc.status }> {
  const call = (client as unknown as { StreamSecrets(): grpc.ClientDuplexStream<unknown, Buffer> }).StreamSecrets();
  return new Promise((resolve) => {
    call.on('data', (b: Buffer) => {
      const res = fromBinary(DiscoveryResponseSchema, b);
      resolve({ ok: true, names: res.resources.map((r) => r.typeUrl) });
      call.cancel();
    });
    call.on('error', (e: grpc.ServiceError) => resolve({ ok: false, code: e.code }));
    call.write(create(DiscoveryRequestSchema, { node: { id: 'edge-1' }, resourceNames: ['ROOTCA'], typeUrl: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret' }));
  });
}

describe('transport with the real xDS server', () => {
  test('mTLS node SVID streams secrets; a caller without a certificate is PERMISSION_DENIED; shutdown ends streams', async () => {
    const clock = new ManualClock(Date.now());
    const ca = await makeCa(TD, clock.now());
    const store = new IdentityStore(TD);
    store.setBundle(ca.bundle);
    store.setSvid(await issueSvid(ca, SERVER_ID, clock.now(), 24 * 3_600_000));
    const xds = new XdsServer({ store, resources: new ResourceCache(), policy: new TableIdentityPolicy([]), clock });
    const captured = captureLog();
    const t = await startTransport({
      store, clock, log: captured.log,
      register: (s, a) => xds.addTo(s, a),
      endStreams: () => xds.close(),
      tcp: { address: '127.0.0.1:0', serverSpiffeId: SERVER_ID },
      unix: [{ path: join(await mkdtemp(join(tmpdir(), 'tp-xds-')), 'xds.sock'), principal: { kind: 'node', name: 'edge-1' } }],
    });
    const node = await issueSvid(ca, `spiffe://${TD}/trustplane/node/edge-1`, clock.now());
    const creds = (c?: object) => spiffeChannelCredentials({ bundlePem: ca.bundle.toPem(), serverSpiffeId: SERVER_ID, ...c });
    const mtls = new Sds(t.tcpAddress!, creds({ certChainPem: node.chain.map(String).join(''), privateKeyPem: node.privateKeyPem }));
    const anonymous = new Sds(t.tcpAddress!, creds());
    const uds = new Sds(`unix:${t.unixSockets[0]}`, grpc.credentials.createInsecure());
    try {
      assert.deepEqual(await firstResponse(mtls), { ok: true, names: ['type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret'] });
      assert.deepEqual(await firstResponse(uds), { ok: true, names: ['type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret'] });
      assert.deepEqual(await firstResponse(anonymous), { ok: false, code: grpc.status.PERMISSION_DENIED });
      assert.doesNotMatch(captured.text(), /PRIVATE KEY/);
    } finally {
      for (const c of [mtls, anonymous, uds]) c.close();
      await t.close();
    }
  });
});
