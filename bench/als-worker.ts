// The proxy side of bench/als, in its own thread: `streams` StreamAccessLogs streams over the Unix socket, each on
// its own connection (as an Envoy's worker threads each hold one), each sending its identifier and then its share
// of the pre-encoded batches as fast as gRPC flow control lets it, then ending; reports when every answer arrived.
import * as grpc from '@grpc/grpc-js';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { ALS_METHOD_PATH } from '../src/traffic/als-service.js';

const { socket, identifier, batches, streams } = workerData as { socket: string; identifier: Uint8Array; batches: Uint8Array[]; streams: number };
const start = performance.now();
const elu0 = performance.eventLoopUtilization();
let pending = streams;
let error: string | undefined;

for (let s = 0; s < streams; s++) {
  // Separate channels: separate HTTP/2 connections, each with its own flow-control windows.
  const client = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const mine = [identifier, ...batches.filter((_, i) => i % streams === s)];
  const call = client.makeClientStreamRequest<Uint8Array, Buffer>(ALS_METHOD_PATH, (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength), (b) => b, (err) => {
    client.close();
    if (err) error ??= `${err.code} ${err.details}`;
    if (--pending === 0) parentPort!.postMessage({ ms: performance.now() - start, elu: performance.eventLoopUtilization(elu0).utilization, error });
  });
  let i = 0;
  const pump = (): void => {
    while (i < mine.length) {
      if (!call.write(mine[i++]!)) {
        call.once('drain', pump);
        return;
      }
    }
    call.end();
  };
  pump();
}
