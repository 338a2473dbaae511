// gRPC service definitions for the xDS services, written out by hand over the generated message schemas (no
// proto-loader). Responses are serialised by the protocol code itself (see codec.ts), so every response method
// here takes ready-made bytes; requests are decoded with the generated schema.
import type * as grpc from '@grpc/grpc-js';
import { fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
} from '#gen/envoy/service/discovery/v3/discovery_pb';
import { ClientStatusRequestSchema, ClientStatusResponseSchema } from '#gen/envoy/service/status/v3/csds_pb';

const SDS = 'envoy.service.secret.v3.SecretDiscoveryService';
const ADS = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
const CSDS = 'envoy.service.status.v3.ClientStatusDiscoveryService';

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function method<I extends DescMessage, O extends DescMessage>(
  path: string,
  streaming: boolean,
  input: I,
  output: O,
): grpc.MethodDefinition<MessageShape<I>, Uint8Array> & { responseSchema: O } {
  return {
    path,
    requestStream: streaming,
    responseStream: streaming,
    requestSerialize: (m: MessageShape<I>) => toBuffer(toBinary(input, m)),
    requestDeserialize: (b: Buffer) => fromBinary(input, b),
    responseSerialize: toBuffer,
    // Only clients decode responses; the server never does. Returned as raw bytes here on purpose: a client
    // built from these definitions decodes with responseSchema itself.
    responseDeserialize: (b: Buffer) => b,
    responseSchema: output,
  };
}

export const secretDiscoveryService = {
  StreamSecrets: method(`/${SDS}/StreamSecrets`, true, DiscoveryRequestSchema, DiscoveryResponseSchema),
  DeltaSecrets: method(`/${SDS}/DeltaSecrets`, true, DeltaDiscoveryRequestSchema, DeltaDiscoveryResponseSchema),
  FetchSecrets: method(`/${SDS}/FetchSecrets`, false, DiscoveryRequestSchema, DiscoveryResponseSchema),
};

export const aggregatedDiscoveryService = {
  StreamAggregatedResources: method(
    `/${ADS}/StreamAggregatedResources`,
    true,
    DiscoveryRequestSchema,
    DiscoveryResponseSchema,
  ),
  DeltaAggregatedResources: method(
    `/${ADS}/DeltaAggregatedResources`,
    true,
    DeltaDiscoveryRequestSchema,
    DeltaDiscoveryResponseSchema,
  ),
};

export const clientStatusDiscoveryService = {
  StreamClientStatus: method(`/${CSDS}/StreamClientStatus`, true, ClientStatusRequestSchema, ClientStatusResponseSchema),
  FetchClientStatus: method(`/${CSDS}/FetchClientStatus`, false, ClientStatusRequestSchema, ClientStatusResponseSchema),
};
