// A Workload API client: the X.509-SVID stream of an agent (SPIRE's, or any server that follows the spec), with
// the security header on every call. Reconnecting is the caller's decision (see sources/workload-api-source.ts),
// so this stays one stream at a time with its events.
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { JWTBundlesRequestSchema, JWTSVIDRequestSchema, X509SVIDRequestSchema, type JWTBundlesResponse, type JWTSVIDResponse, type X509SVIDResponse } from '#gen/workload_pb';
import type { WorkloadApiAddress } from './address.js';
import { SECURITY_HEADER, SECURITY_HEADER_VALUE, spiffeWorkloadApi } from './service.js';

/** Responses carry whole chains and bundles; 4 MiB is gRPC's default and plenty for thousands of SVIDs. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

function header(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(SECURITY_HEADER, SECURITY_HEADER_VALUE);
  return md;
}

export interface StreamWatch {
  cancel(): void;
}

export class WorkloadApiClient {
  readonly #client: grpc.Client;

  constructor(readonly address: WorkloadApiAddress) {
    this.#client = new grpc.Client(address.target, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_RESPONSE_BYTES,
      // A Unix socket that went away comes back quickly when the agent restarts; do not back off for minutes.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 5_000,
    });
  }

  /** Opens FetchX509SVID; `onUpdate` gets every response, `onEnd` the status the stream ended with (once). */
  watchX509Svids(onUpdate: (r: X509SVIDResponse) => void, onEnd: (status: { code: grpc.status; details: string }) => void): StreamWatch {
    const m = spiffeWorkloadApi.FetchX509SVID;
    return this.#watch(this.#client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, create(X509SVIDRequestSchema), header()), onUpdate, onEnd);
  }

  /** Opens FetchJWTBundles, as watchX509Svids. */
  watchJwtBundles(onUpdate: (r: JWTBundlesResponse) => void, onEnd: (status: { code: grpc.status; details: string }) => void): StreamWatch {
    const m = spiffeWorkloadApi.FetchJWTBundles;
    return this.#watch(this.#client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, create(JWTBundlesRequestSchema), header()), onUpdate, onEnd);
  }

  /** FetchJWTSVID for one SPIFFE ID; rejects with the call's gRPC status. */
  fetchJwtSvid(audience: readonly string[], spiffeId: string): Promise<JWTSVIDResponse> {
    const m = spiffeWorkloadApi.FetchJWTSVID;
    return new Promise((ok, fail) =>
      this.#client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, create(JWTSVIDRequestSchema, { audience: [...audience], spiffeId }), header(), { deadline: Date.now() + 10_000 }, (err, r) => (err ? fail(err) : ok(r!))),
    );
  }

  #watch<T>(call: grpc.ClientReadableStream<T>, onUpdate: (r: T) => void, onEnd: (status: { code: grpc.status; details: string }) => void): StreamWatch {
    let ended = false;
    const end = (status: { code: grpc.status; details: string }): void => {
      if (ended) return;
      ended = true;
      onEnd(status);
    };
    call.on('data', (r: T) => {
      if (!ended) onUpdate(r);
    });
    call.on('error', (e: grpc.ServiceError) => end({ code: e.code, details: e.details }));
    call.on('end', () => end({ code: grpc.status.UNAVAILABLE, details: 'the server ended the stream' }));
    return {
      cancel: () => {
        ended = true;
        call.cancel();
      },
    };
  }

  close(): void {
    this.#client.close();
  }
}
