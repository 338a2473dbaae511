// Run by the authorization test as another user (child_process with uid/gid): tries the Unix socket the way any
// process of that user would, then asks it for secrets over SotW StreamSecrets, and prints one JSON line with
// what happened: the connect errno (or OK), and the first response (base64) or the gRPC status.
// Usage: node uid-sds-client.js <socket path> <JSON array of secret names>
import * as grpc from '@grpc/grpc-js';
import { create, toBinary } from '@bufbuild/protobuf';
import { DiscoveryRequestSchema } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { connect } from 'node:net';
import { TYPE_SECRET } from '../../src/xds/type-urls.js';
import { PATHS } from '../xds/protocol/client.js';

export interface UidClientReport {
  readonly uid: number;
  /** 'OK' or the errno code of a plain connect(2) to the socket. */
  readonly connect: string;
  /** The first DiscoveryResponse, base64, when there was one. */
  readonly response?: string;
  /** The gRPC status when the stream failed instead. */
  readonly status?: { readonly code: number; readonly details: string };
}

async function main(): Promise<void> {
  const [path, namesJson] = process.argv.slice(2);
  if (!path || !namesJson) throw new Error('usage: uid-sds-client.js <socket path> <JSON array of secret names>');
  const connected = await new Promise<string>((resolve) => {
    const s = connect(path);
    s.on('connect', () => {
      s.destroy();
      resolve('OK');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  const client = new grpc.Client(`unix:${path}`, grpc.credentials.createInsecure());
  const call = client.makeBidiStreamRequest(PATHS.StreamSecrets, (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b);
  const uid = process.getuid!();
  const report = await new Promise<UidClientReport>((resolve) => {
    call.on('data', (b: Buffer) => resolve({ uid, connect: connected, response: b.toString('base64') }));
    call.on('error', (e: grpc.ServiceError) => resolve({ uid, connect: connected, status: { code: e.code, details: e.details } }));
    call.write(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { node: { id: `uid-${uid}` }, typeUrl: TYPE_SECRET, resourceNames: JSON.parse(namesJson) as string[] })));
  });
  call.cancel();
  client.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  },
);
