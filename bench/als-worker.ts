// The proxy side of bench/als, in its own thread: one StreamAccessLogs stream over the Unix socket, the
// pre-encoded messages written as fast as gRPC flow control lets them, then the end of the stream; reports when
// the server's answer arrived.
import * as grpc from '@grpc/grpc-js';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { ALS_METHOD_PATH } from '../src/traffic/als-service.js';

const { socket, messages } = workerData as { socket: string; messages: Uint8Array[] };
const client = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure());
const start = performance.now();
const call = client.makeClientStreamRequest<Uint8Array, Buffer>(ALS_METHOD_PATH, (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength), (b) => b, (err) => {
  const end = performance.now();
  client.close();
  parentPort!.postMessage({ ms: end - start, error: err ? `${err.code} ${err.details}` : undefined });
});
let i = 0;
const pump = (): void => {
  while (i < messages.length) {
    if (!call.write(messages[i++]!)) {
      call.once('drain', pump);
      return;
    }
  }
  call.end();
};
pump();
