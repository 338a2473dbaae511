// The SpiffeWorkloadAPI gRPC service over the messages generated from proto/workload.proto. The spec's service has
// no proto package, so every method path is /SpiffeWorkloadAPI/<Method>. The same definitions serve the server
// (src/workload-api/server.ts) and the client the Workload API identity source uses (client.ts).
import type * as grpc from '@grpc/grpc-js';
import { fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import {
  JWTBundlesRequestSchema,
  JWTBundlesResponseSchema,
  JWTSVIDRequestSchema,
  JWTSVIDResponseSchema,
  ValidateJWTSVIDRequestSchema,
  ValidateJWTSVIDResponseSchema,
  WITBundlesRequestSchema,
  WITBundlesResponseSchema,
  WITSVIDRequestSchema,
  WITSVIDResponseSchema,
  X509BundlesRequestSchema,
  X509BundlesResponseSchema,
  X509SVIDRequestSchema,
  X509SVIDResponseSchema,
} from '#gen/workload_pb';

export const SERVICE_NAME = 'SpiffeWorkloadAPI';

/** How a call or stream ends when it does not succeed: a gRPC status code and a one-line reason. */
export interface Status {
  readonly code: grpc.status;
  readonly details: string;
}

/** The security header every call must carry (SPIFFE Workload Endpoint §3), with exactly this value. */
export const SECURITY_HEADER = 'workload.spiffe.io';
export const SECURITY_HEADER_VALUE = 'true';

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function method<I extends DescMessage, O extends DescMessage>(name: string, responseStream: boolean, input: I, output: O): grpc.MethodDefinition<MessageShape<I>, MessageShape<O>> {
  return {
    path: `/${SERVICE_NAME}/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: (m: MessageShape<I>) => toBuffer(toBinary(input, m)),
    requestDeserialize: (b: Buffer) => fromBinary(input, b),
    responseSerialize: (m: MessageShape<O>) => toBuffer(toBinary(output, m)),
    responseDeserialize: (b: Buffer) => fromBinary(output, b),
  };
}

export const spiffeWorkloadApi = {
  FetchX509SVID: method('FetchX509SVID', true, X509SVIDRequestSchema, X509SVIDResponseSchema),
  FetchX509Bundles: method('FetchX509Bundles', true, X509BundlesRequestSchema, X509BundlesResponseSchema),
  FetchJWTSVID: method('FetchJWTSVID', false, JWTSVIDRequestSchema, JWTSVIDResponseSchema),
  FetchJWTBundles: method('FetchJWTBundles', true, JWTBundlesRequestSchema, JWTBundlesResponseSchema),
  ValidateJWTSVID: method('ValidateJWTSVID', false, ValidateJWTSVIDRequestSchema, ValidateJWTSVIDResponseSchema),
  FetchWITSVID: method('FetchWITSVID', true, WITSVIDRequestSchema, WITSVIDResponseSchema),
  FetchWITBundles: method('FetchWITBundles', true, WITBundlesRequestSchema, WITBundlesResponseSchema),
} satisfies grpc.ServiceDefinition;

export type WorkloadApiMethod = keyof typeof spiffeWorkloadApi;
