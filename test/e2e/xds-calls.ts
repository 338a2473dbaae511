// xDS calls over a real channel (Unix socket or TCP with TLS) to a running control plane, through the test xDS
// client's stream wrappers, plus the byte forms of responses that key-leak checks search.
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
} from '#gen/envoy/service/discovery/v3/discovery_pb';
import { DeltaClient, PATHS, SotwClient, type SotwRequestInit } from '../xds/protocol/client.js';

const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b);
const raw = (b: Buffer): Buffer => b;

export class XdsCaller {
  readonly #client: grpc.Client;

  constructor(address: string, credentials: grpc.ChannelCredentials) {
    this.#client = new grpc.Client(address, credentials, { 'grpc.ssl_target_name_override': 'trustplane' }); // an IP is no TLS server name (DEP0123)
  }

  sotw(path: typeof PATHS.StreamSecrets | typeof PATHS.StreamAggregatedResources = PATHS.StreamSecrets): SotwClient {
    return new SotwClient(this.#client.makeBidiStreamRequest(path, toBuffer, raw));
  }

  delta(path: typeof PATHS.DeltaSecrets | typeof PATHS.DeltaAggregatedResources = PATHS.DeltaSecrets): DeltaClient {
    return new DeltaClient(this.#client.makeBidiStreamRequest(path, toBuffer, raw));
  }

  fetchSecrets(req: SotwRequestInit): Promise<DiscoveryResponse> {
    const body = toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, req));
    return new Promise((resolve, reject) =>
      this.#client.makeUnaryRequest(PATHS.FetchSecrets, toBuffer, raw, body, (err, res) =>
        err ? reject(err) : resolve(fromBinary(DiscoveryResponseSchema, res!)),
      ),
    );
  }

  close(): void {
    this.#client.close();
  }
}

/** A response as the bytes that went over the wire, as text a search for key material can run on. */
export function wireText(resp: DiscoveryResponse | DeltaDiscoveryResponse): string {
  const bytes =
    resp.$typeName === 'envoy.service.discovery.v3.DiscoveryResponse'
      ? toBinary(DiscoveryResponseSchema, resp)
      : toBinary(DeltaDiscoveryResponseSchema, resp);
  return Buffer.from(bytes).toString('latin1');
}
