// gRPC Server Reflection on the Workload API's Unix sockets, asked by a grpc-js client of
// grpc.reflection.v1 and v1alpha ServerReflection (loaded from the reflection .proto files the package ships):
// the services listed, the file containing a symbol (with the files it imports), and the reflected schema
// decoding what the Workload API really sends. Reflection needs no security header (as on SPIRE's agent); the
// Workload API's own methods still do.
import * as grpc from '@grpc/grpc-js';
import { createFileRegistry, fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spiffeWorkloadApi } from '../../src/workload-api/service.js';
import { startFixture, PARTNER_TD, TD, type Fixture } from './fixture.js';
import { header, PATH, SpecClient, splitDer } from './spec-wire.js';

const ORDERS = `spiffe://${TD}/ns/shop/sa/orders`;
const BILLING = `spiffe://${TD}/ns/billing/sa/billing`;
const UID_A = 4201;
const isRoot = process.getuid?.() === 0;

// proto-loader is what @grpc/reflection itself loads its .proto files with; resolve both from that package.
const reflectionMain = createRequire(import.meta.url).resolve('@grpc/reflection');
const fromReflection = createRequire(reflectionMain);
const protoLoader = fromReflection('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
const protoDir = join(dirname(reflectionMain), '..', 'proto', 'grpc', 'reflection');

interface ReflectionResponse {
  validHost: string;
  messageResponse: 'listServicesResponse' | 'fileDescriptorResponse' | 'errorResponse';
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

type Version = 'v1' | 'v1alpha';

/** A ServerReflection client of one version on one socket; each ask is one request on its own stream. */
function reflectionClient(version: Version, socket: string) {
  const def = protoLoader.loadSync(join(protoDir, version, 'reflection.proto'), { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: Record<Version, { ServerReflection: grpc.ServiceClientConstructor }> } };
  const client = new pkg.grpc.reflection[version].ServerReflection(`unix:${socket}`, grpc.credentials.createInsecure());
  const ask = (request: Record<string, unknown>, md = new grpc.Metadata()): Promise<ReflectionResponse> =>
    new Promise((ok, fail) => {
      const call = (client['serverReflectionInfo'] as (md: grpc.Metadata) => grpc.ClientDuplexStream<object, ReflectionResponse>)(md);
      call.once('data', (r: ReflectionResponse) => {
        ok(r);
        call.end();
      });
      call.once('error', fail);
      call.write(request);
    });
  return { ask, close: () => client.close() };
}

function files(r: ReflectionResponse): FileDescriptorProto[] {
  assert.equal(r.messageResponse, 'fileDescriptorResponse', `expected files, got ${JSON.stringify(r.errorResponse)}`);
  return r.fileDescriptorResponse!.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, Buffer.from(b)));
}

describe('Workload API: gRPC Server Reflection', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture({ grants: { [process.getuid?.() ?? 0]: [ORDERS], [UID_A]: [BILLING] }, uids: isRoot ? [UID_A] : [] });
  });
  after(() => f.close());

  for (const version of ['v1', 'v1alpha'] as const) {
    test(`${version}: lists SpiffeWorkloadAPI, with no security header`, async () => {
      const c = reflectionClient(version, f.socket(process.getuid?.() ?? 0));
      try {
        const r = await c.ask({ listServices: '*' });
        assert.equal(r.messageResponse, 'listServicesResponse');
        assert.deepEqual(r.listServicesResponse!.service.map((s) => s.name), ['SpiffeWorkloadAPI']);
      } finally {
        c.close();
      }
    });

    test(`${version}: the file containing SpiffeWorkloadAPI is workload.proto with every served method, and its import`, async () => {
      const c = reflectionClient(version, f.socket(process.getuid?.() ?? 0));
      try {
        const got = files(await c.ask({ fileContainingSymbol: 'SpiffeWorkloadAPI' }));
        assert.deepEqual(got.map((d) => d.name).sort(), ['google/protobuf/struct.proto', 'workload.proto']);
        const workload = got.find((d) => d.name === 'workload.proto')!;
        assert.deepEqual(workload.dependency, ['google/protobuf/struct.proto']);
        const service = workload.service.find((s) => s.name === 'SpiffeWorkloadAPI')!;
        const served = Object.entries(spiffeWorkloadApi).map(([name, m]) => ({ name, serverStreaming: m.responseStream }));
        assert.deepEqual(service.method.map((m) => ({ name: m.name, serverStreaming: m.serverStreaming === true })), served);
      } finally {
        c.close();
      }
    });

    test(`${version}: a message and a method name find the same file; an unknown symbol is NOT_FOUND`, async () => {
      const c = reflectionClient(version, f.socket(process.getuid?.() ?? 0));
      try {
        for (const symbol of ['X509SVIDResponse', 'SpiffeWorkloadAPI.FetchJWTSVID']) {
          assert.ok(files(await c.ask({ fileContainingSymbol: symbol })).some((d) => d.name === 'workload.proto'), symbol);
        }
        const r = await c.ask({ fileContainingSymbol: 'NoSuchMessage' });
        assert.equal(r.messageResponse, 'errorResponse');
        assert.equal(r.errorResponse!.errorCode, grpc.status.NOT_FOUND);
      } finally {
        c.close();
      }
    });
  }

  test('the reflected schema decodes what FetchX509Bundles sends (a client that has only reflection)', async () => {
    const socket = f.socket(process.getuid?.() ?? 0);
    const c = reflectionClient('v1', socket);
    const wapi = new SpecClient(socket);
    try {
      const got = new Map(files(await c.ask({ fileContainingSymbol: 'SpiffeWorkloadAPI' })).map((d) => [d.name, d]));
      const registry = createFileRegistry(got.get('workload.proto')!, (name) => got.get(name));
      const method = registry.getService('SpiffeWorkloadAPI')!.methods.find((m) => m.name === 'FetchX509Bundles')!;
      const stream = wapi.rawStream(PATH.FetchX509Bundles, Buffer.alloc(0));
      const decoded = fromBinary(method.output, await stream.next()) as unknown as { bundles: Record<string, Uint8Array> };
      stream.cancel();
      assert.deepEqual(Object.keys(decoded.bundles).sort(), [`spiffe://${PARTNER_TD}`, `spiffe://${TD}`].sort());
      const own = splitDer(Buffer.from(decoded.bundles[`spiffe://${TD}`]!)).map((d) => d.toString('base64')).sort();
      assert.deepEqual(own, f.ca.bundle().x509Authorities.map((a) => a.raw.toString('base64')).sort());
    } finally {
      c.close();
      wapi.close();
    }
  });

  test('the Workload API methods beside reflection still refuse a call without the security header', async () => {
    const wapi = new SpecClient(f.socket(process.getuid?.() ?? 0));
    try {
      await assert.rejects(wapi.rawStream(PATH.FetchX509Bundles, Buffer.alloc(0), header(null)).next(), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT);
    } finally {
      wapi.close();
    }
  });

  test('every per-uid socket offers reflection too', async () => {
    if (!isRoot) throw new Error('runs as root: per-uid sockets are given to other users');
    const c = reflectionClient('v1', f.socket(UID_A));
    try {
      const r = await c.ask({ listServices: '*' });
      assert.deepEqual(r.listServicesResponse!.service.map((s) => s.name), ['SpiffeWorkloadAPI']);
    } finally {
      c.close();
    }
  });
});
