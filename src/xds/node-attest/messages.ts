// The node attestation API: two unary gRPC methods with JSON bodies on the TCP listener, so no proto file or code
// generation is needed and any gRPC client (or grpcurl with -format json and a local descriptor) can speak it.
import type * as grpc from '@grpc/grpc-js';

export interface AttestRequest {
  /** The join token printed by `trustplane token create`. */
  readonly token: string;
  /** The node's public key (SPKI PEM) or a PKCS#10 CSR over it (its subject and SANs are ignored). */
  readonly publicKeyPem?: string;
  readonly csrPem?: string;
}

/** Renewal is authenticated by the node's current SVID on the mTLS connection. */
export interface RenewRequest {
  readonly publicKeyPem?: string;
  readonly csrPem?: string;
}

export interface NodeSvidResponse {
  readonly spiffeId: string;
  /** Leaf first. Never a private key: the node keeps its own. */
  readonly certChainPem: string;
  /** The own trust domain's bundle, to verify the server and peers with. */
  readonly bundlePem: string;
  readonly notAfter: string;
}

const MAX_MESSAGE_BYTES = 64 * 1024;

function serialize(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v), 'utf8');
}

function deserialize<T>(b: Buffer): T {
  if (b.length > MAX_MESSAGE_BYTES) throw new Error(`message of ${b.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  const v: unknown = JSON.parse(b.toString('utf8'));
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('message is not a JSON object');
  return v as T;
}

function unary<Req, Res>(name: string): grpc.MethodDefinition<Req, Res> {
  return {
    path: `/trustplane.node.v1.NodeAttestation/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: serialize,
    requestDeserialize: deserialize<Req>,
    responseSerialize: serialize,
    responseDeserialize: deserialize<Res>,
  };
}

export const nodeAttestationService = {
  attest: unary<AttestRequest, NodeSvidResponse>('Attest'),
  renew: unary<RenewRequest, NodeSvidResponse>('Renew'),
} satisfies grpc.ServiceDefinition;

/** Metadata key of the stable error code on a failed call (also the prefix of the status details). */
export const ERROR_CODE_METADATA = 'trustplane-error-code';
