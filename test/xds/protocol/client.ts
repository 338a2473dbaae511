// A test xDS client over a real gRPC connection: it sends what a test tells it and queues every response, so
// tests wait on actual messages. A missing response is asserted by sending a probe that must be answered and
// checking that the probe's answer is the next thing to arrive.
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
} from '#gen/envoy/service/discovery/v3/discovery_pb';
import { ClientStatusRequestSchema, ClientStatusResponseSchema, type ClientStatusResponse } from '#gen/envoy/service/status/v3/csds_pb';

/** How long a test waits for a message before failing (a guard against hanging, not a stand-in for an event). */
const GUARD_MS = 10_000;

class Queue<T> {
  readonly #items: T[] = [];
  readonly #waiters: { resolve: (v: T) => void; reject: (e: Error) => void }[] = [];
  #ended: Error | undefined;

  push(v: T): void {
    const w = this.#waiters.shift();
    if (w) w.resolve(v);
    else this.#items.push(v);
  }

  /** Ends the queue: whoever waits now, and whoever asks later, gets the stream's error. */
  fail(err: Error): void {
    this.#ended = err;
    for (const w of this.#waiters.splice(0)) w.reject(err);
  }

  get length(): number {
    return this.#items.length;
  }

  next(what: string): Promise<T> {
    const v = this.#items.shift();
    if (v !== undefined) return Promise.resolve(v);
    if (this.#ended) return Promise.reject(this.#ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${GUARD_MS} ms`)), GUARD_MS);
      this.#waiters.push({
        resolve: (x) => {
          clearTimeout(timer);
          resolve(x);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }
}

type Bidi = grpc.ClientDuplexStream<Uint8Array, Buffer>;

abstract class StreamClient<Res> {
  readonly responses = new Queue<Res>();
  readonly status: Promise<grpc.StatusObject>;

  constructor(protected readonly call: Bidi, decode: (b: Buffer) => Res) {
    call.on('data', (b: Buffer) => this.responses.push(decode(b)));
    this.status = new Promise((resolve) => call.on('status', resolve));
    call.on('error', (e) => this.responses.fail(e));
  }

  next(): Promise<Res> {
    return this.responses.next('response');
  }

  end(): void {
    this.call.end();
  }

  cancel(): void {
    this.call.cancel();
  }
}

export type SotwRequestInit = MessageInitShape<typeof DiscoveryRequestSchema>;
export type DeltaRequestInit = MessageInitShape<typeof DeltaDiscoveryRequestSchema>;

export class SotwClient extends StreamClient<DiscoveryResponse> {
  constructor(call: Bidi) {
    super(call, (b) => fromBinary(DiscoveryResponseSchema, b));
  }

  send(req: SotwRequestInit): void {
    this.call.write(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, req)));
  }

  /** ACKs a response, keeping (or changing) the subscription. */
  ack(resp: DiscoveryResponse, resourceNames: string[]): void {
    this.send({ typeUrl: resp.typeUrl, versionInfo: resp.versionInfo, responseNonce: resp.nonce, resourceNames });
  }

  /** NACKs a response; version_info is the last version accepted. */
  nack(resp: DiscoveryResponse, resourceNames: string[], message: string, acceptedVersion = ''): void {
    this.send({ typeUrl: resp.typeUrl, versionInfo: acceptedVersion, responseNonce: resp.nonce, resourceNames, errorDetail: { code: 3, message } });
  }
}

export class DeltaClient extends StreamClient<DeltaDiscoveryResponse> {
  constructor(call: Bidi) {
    super(call, (b) => fromBinary(DeltaDiscoveryResponseSchema, b));
  }

  send(req: DeltaRequestInit): void {
    this.call.write(toBinary(DeltaDiscoveryRequestSchema, create(DeltaDiscoveryRequestSchema, req)));
  }

  ack(resp: DeltaDiscoveryResponse, more: Omit<DeltaRequestInit, 'typeUrl' | 'responseNonce'> = {}): void {
    this.send({ ...more, typeUrl: resp.typeUrl, responseNonce: resp.nonce } as DeltaRequestInit);
  }
}

const identity = (b: Uint8Array): Buffer => Buffer.from(b);
const raw = (b: Buffer): Buffer => b;

export const PATHS = {
  StreamSecrets: '/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets',
  DeltaSecrets: '/envoy.service.secret.v3.SecretDiscoveryService/DeltaSecrets',
  FetchSecrets: '/envoy.service.secret.v3.SecretDiscoveryService/FetchSecrets',
  StreamAggregatedResources: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
  DeltaAggregatedResources: '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources',
  StreamClientStatus: '/envoy.service.status.v3.ClientStatusDiscoveryService/StreamClientStatus',
  FetchClientStatus: '/envoy.service.status.v3.ClientStatusDiscoveryService/FetchClientStatus',
} as const;

/** Connects to a test server; `principal` goes into call metadata for the test authenticator. */
export class XdsTestClient {
  readonly #client: grpc.Client;

  constructor(address: string) {
    this.#client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  #meta(principal: string | undefined): grpc.Metadata {
    const md = new grpc.Metadata();
    if (principal !== undefined) md.set('x-test-principal', principal);
    return md;
  }

  #bidi(path: string, principal: string | undefined): Bidi {
    return this.#client.makeBidiStreamRequest(path, identity, raw, this.#meta(principal));
  }

  sotw(path: typeof PATHS.StreamSecrets | typeof PATHS.StreamAggregatedResources, principal?: string): SotwClient {
    return new SotwClient(this.#bidi(path, principal));
  }

  delta(path: typeof PATHS.DeltaSecrets | typeof PATHS.DeltaAggregatedResources, principal?: string): DeltaClient {
    return new DeltaClient(this.#bidi(path, principal));
  }

  fetchSecrets(req: SotwRequestInit, principal?: string): Promise<DiscoveryResponse> {
    return this.#unary(PATHS.FetchSecrets, toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, req)), principal).then((b) =>
      fromBinary(DiscoveryResponseSchema, b),
    );
  }

  fetchClientStatus(req: MessageInitShape<typeof ClientStatusRequestSchema>, principal?: string): Promise<ClientStatusResponse> {
    return this.#unary(PATHS.FetchClientStatus, toBinary(ClientStatusRequestSchema, create(ClientStatusRequestSchema, req)), principal).then((b) =>
      fromBinary(ClientStatusResponseSchema, b),
    );
  }

  /** One request/response over StreamClientStatus. */
  async streamClientStatus(req: MessageInitShape<typeof ClientStatusRequestSchema>, principal?: string): Promise<ClientStatusResponse> {
    const call = this.#bidi(PATHS.StreamClientStatus, principal);
    const q = new Queue<Buffer>();
    call.on('data', (b: Buffer) => q.push(b));
    call.on('error', (e) => q.fail(e));
    call.write(toBinary(ClientStatusRequestSchema, create(ClientStatusRequestSchema, req)));
    const b = await q.next('CSDS response');
    call.end();
    return fromBinary(ClientStatusResponseSchema, b);
  }

  #unary(path: string, body: Uint8Array, principal: string | undefined): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(path, identity, raw, body, this.#meta(principal), (err, res) => (err ? reject(err) : resolve(res!)));
    });
  }

  close(): void {
    this.#client.close();
  }
}
