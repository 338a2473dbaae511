// Shared pieces of the transport tests: a stand-in for the xDS protocol server (it only reports who the
// transport says is calling), a pino logger whose output the test can read, and small promise helpers.
import * as grpc from '@grpc/grpc-js';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { CallAuthenticator } from '../../../src/xds/principal.js';
import { principalToString } from '../../../src/xds/principal.js';

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
};

export const whoService = {
  whoami: {
    path: '/trustplane.test.Who/Whoami',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
  watch: {
    path: '/trustplane.test.Who/Watch',
    requestStream: true,
    responseStream: true,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
} satisfies grpc.ServiceDefinition;

/** Registers the stand-in the way XdsServer.addTo does: authenticate every call, deny when there is no principal. */
export function addWhoService(server: grpc.Server, auth: CallAuthenticator): void {
  const denied = { code: grpc.status.PERMISSION_DENIED, details: 'no node principal' };
  server.addService(whoService, {
    whoami: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const p = auth.authenticate(call);
      if (!p) return cb(denied, null);
      cb(null, { principal: principalToString(p) });
    },
    watch: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      const p = auth.authenticate(call);
      if (!p) return call.emit('error', denied);
      call.write({ principal: principalToString(p) });
      call.on('data', () => call.write({ principal: principalToString(p) }));
      call.on('end', () => call.end());
    },
  });
}

export const WhoClient = grpc.makeGenericClientConstructor(whoService, 'Who');

export function whoami(client: grpc.Client): Promise<string> {
  return new Promise((resolve, reject) =>
    (client as unknown as { whoami: Function }).whoami({}, (err: grpc.ServiceError | null, res: { principal: string }) =>
      err ? reject(err) : resolve(res.principal),
    ),
  );
}

export function openWatch(client: grpc.Client): grpc.ClientDuplexStream<unknown, { principal: string }> {
  return (client as unknown as { watch: () => grpc.ClientDuplexStream<unknown, { principal: string }> }).watch();
}

export interface CapturedLog {
  readonly log: Logger;
  text(): string;
}

export function captureLog(): CapturedLog {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { log: pino({ level: 'trace' }, sink), text: () => chunks.join('') };
}

/** Resolves with the error a promise rejects with; fails if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as grpc.ServiceError;
  }
  throw new Error('expected a rejection');
}

export function errorCode(e: grpc.ServiceError): string | undefined {
  return e.metadata?.get('trustplane-error-code')[0]?.toString();
}
