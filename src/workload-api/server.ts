// The SPIFFE Workload API server (SPIFFE_Workload_API.md, SPIFFE_Workload_Endpoint.md). The transport says who
// is calling (the Unix socket the call came in on; see listeners.ts); the grants say what that caller may hold;
// the identity store holds the SVIDs and bundles. Every Workload API call must carry `workload.spiffe.io: true`
// (InvalidArgument otherwise; reflection.ts says why Server Reflection beside it does not ask for it); a caller with no identity gets PermissionDenied; each stream sends the full state
// at once and again after every change that alters it (rotation, bundle change, a reload of the grants).
import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import { toBinary } from '@bufbuild/protobuf';
import {
  JWTBundlesResponseSchema,
  X509BundlesResponseSchema,
  X509SVIDResponseSchema,
  type JWTBundlesResponse,
  type JWTSVIDRequest,
  type ValidateJWTSVIDRequest,
  type X509BundlesResponse,
  type X509SVIDResponse,
} from '#gen/workload_pb';
import type { Logger } from '../observe/log.js';
import type { IdentityStore } from '../store/identity-store.js';
import type { CallAuthenticator, NodePrincipal } from '../xds/principal.js';
import { principalToString } from '../xds/principal.js';
import type { WorkloadGrants } from './grants.js';
import { fetchJwtSvids, jwtBundlesResponse, validateJwtSvidRequest, type JwtProfile } from './jwt-profile.js';
import { addWorkloadApiReflection } from './reflection.js';
import { SECURITY_HEADER, SECURITY_HEADER_VALUE, spiffeWorkloadApi, type Status } from './service.js';
import { x509BundlesResponse, x509SvidResponse } from './x509-responses.js';

/** A caller cannot hold more open streams than this (one caller must not starve the others). */
export const DEFAULT_MAX_STREAMS_PER_CALLER = 64;
/** Nor have more unary calls (minting, validating) in progress at once. */
export const DEFAULT_MAX_CALLS_PER_CALLER = 16;

type Kind = 'x509-svid' | 'x509-bundles' | 'jwt-bundles';
type Built = X509SVIDResponse | X509BundlesResponse | JWTBundlesResponse | Status;

interface Stream {
  readonly kind: Kind;
  readonly call: grpc.ServerWritableStream<unknown, unknown>;
  readonly principal: NodePrincipal;
  readonly caller: string;
  /** Hash of the last response written, so an unchanged state is not sent again. */
  sent: string | undefined;
  /** The socket is not taking writes; the latest state goes out on 'drain'. */
  blocked: boolean;
  dirty: boolean;
  ended: boolean;
}

export interface WorkloadApiServerOptions {
  readonly store: IdentityStore;
  readonly grants: WorkloadGrants;
  readonly logger: Logger;
  readonly maxStreamsPerCaller?: number;
  readonly maxCallsPerCaller?: number;
  /** Told of every response written (for tests). */
  readonly onSent?: (kind: Kind) => void;
  /** Where the server's metrics go (the control plane's registry). */
  readonly registry?: Registry;
  /** The JWT-SVID profile; without it its three methods answer Unimplemented. */
  readonly jwt?: JwtProfile;
}

export function checkSecurityHeader(metadata: grpc.Metadata): Status | undefined {
  const values = metadata.get(SECURITY_HEADER);
  if (values.length === 0) return { code: grpc.status.INVALID_ARGUMENT, details: `security header missing from request: every call must carry the metadata "${SECURITY_HEADER}: ${SECURITY_HEADER_VALUE}"` };
  if (!values.every((v) => v === SECURITY_HEADER_VALUE)) return { code: grpc.status.INVALID_ARGUMENT, details: `unexpected security header: "${SECURITY_HEADER}" must be exactly "${SECURITY_HEADER_VALUE}"` };
  return undefined;
}

export class WorkloadApiServer {
  readonly #store: IdentityStore;
  readonly #grants: WorkloadGrants;
  readonly #log: Logger;
  readonly #maxStreams: number;
  readonly #jwt: JwtProfile | undefined;
  readonly #onSent: (kind: Kind) => void;
  readonly #streams = new Set<Stream>();
  readonly #perCaller = new Map<string, number>();
  readonly #callsPerCaller = new Map<string, number>();
  readonly #maxCalls: number;
  readonly #unsubscribe: () => void;
  #scheduled = false;
  #closed = false;

  constructor(opts: WorkloadApiServerOptions) {
    this.#store = opts.store;
    this.#grants = opts.grants;
    this.#log = opts.logger;
    this.#maxStreams = opts.maxStreamsPerCaller ?? DEFAULT_MAX_STREAMS_PER_CALLER;
    this.#jwt = opts.jwt;
    this.#maxCalls = opts.maxCallsPerCaller ?? DEFAULT_MAX_CALLS_PER_CALLER;
    const responses = opts.registry && new Counter({ name: 'trustplane_workload_api_responses_total', help: 'Workload API stream responses written, by kind (x509-svid | x509-bundles | jwt-bundles)', labelNames: ['kind'], registers: [opts.registry] });
    this.#onSent = (kind) => {
      responses?.inc({ kind });
      opts.onSent?.(kind);
    };
    if (opts.registry) {
      const streams = this.#streams;
      new Gauge({ name: 'trustplane_workload_api_streams', help: 'open Workload API streams', registers: [opts.registry], collect() { this.set(streams.size); } });
    }
    this.#unsubscribe = this.#store.subscribe(() => this.#schedule());
  }

  /** Open streams (X.509-SVID and bundle streams together). */
  get streams(): number {
    return this.#streams.size;
  }

  /** Registers SpiffeWorkloadAPI, and gRPC Server Reflection describing it, on a server whose callers `auth` identifies. */
  addTo(server: grpc.Server, auth: CallAuthenticator): void {
    const unimplemented = (what: string) => (call: { metadata: grpc.Metadata }): Status =>
      checkSecurityHeader(call.metadata) ?? { code: grpc.status.UNIMPLEMENTED, details: `${what} is not served by trustplane's Workload API` };
    const endStream = (call: grpc.ServerWritableStream<unknown, unknown>, status: Status): void => void call.emit('error', status);
    const jwt = this.#jwt;
    const noJwt = unimplemented('the JWT-SVID profile');
    server.addService(spiffeWorkloadApi, {
      FetchX509SVID: (call: grpc.ServerWritableStream<unknown, unknown>) => this.#open('x509-svid', call, auth),
      FetchX509Bundles: (call: grpc.ServerWritableStream<unknown, unknown>) => this.#open('x509-bundles', call, auth),
      FetchJWTSVID: jwt
        ? this.#unary(auth, (call: grpc.ServerUnaryCall<JWTSVIDRequest, unknown>, ids, caller) => fetchJwtSvids(jwt, ids, call.request, caller))
        : (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<never>) => cb(noJwt(call)),
      FetchJWTBundles: jwt ? (call: grpc.ServerWritableStream<unknown, unknown>) => this.#open('jwt-bundles', call, auth) : (call: grpc.ServerWritableStream<unknown, unknown>) => endStream(call, noJwt(call)),
      ValidateJWTSVID: jwt
        ? this.#unary(auth, (call: grpc.ServerUnaryCall<ValidateJWTSVIDRequest, unknown>) => validateJwtSvidRequest(jwt, this.#store, call.request))
        : (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<never>) => cb(noJwt(call)),
      // The WIT-SVID profile is optional; a server without it MUST answer Unimplemented (Workload API §7).
      FetchWITSVID: (call: grpc.ServerWritableStream<unknown, unknown>) => endStream(call, unimplemented('the WIT-SVID profile')(call)),
      FetchWITBundles: (call: grpc.ServerWritableStream<unknown, unknown>) => endStream(call, unimplemented('the WIT-SVID profile')(call)),
    } as unknown as grpc.UntypedServiceImplementation);
    addWorkloadApiReflection(server);
  }

  /** The grants changed (a mesh reload): every stream is checked again, and ended if its caller lost everything. */
  grantsChanged(): void {
    this.#schedule();
  }

  /** Ends every stream with Unavailable (clients reconnect, as the spec asks of them); no new ones are taken. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    for (const s of [...this.#streams]) this.#end(s, { code: grpc.status.UNAVAILABLE, details: 'the Workload API is shutting down' });
  }

  /** A unary method: the header rule, then the caller's principal and grants (PermissionDenied without any). */
  #unary<Req>(auth: CallAuthenticator, handle: (call: grpc.ServerUnaryCall<Req, unknown>, granted: readonly string[], caller: string) => Promise<object | Status>) {
    return (call: grpc.ServerUnaryCall<Req, unknown>, cb: grpc.sendUnaryData<unknown>): void => {
      const bad = checkSecurityHeader(call.metadata);
      if (bad) return cb(bad);
      const principal = auth.authenticate(call);
      if (!principal) return cb({ code: grpc.status.PERMISSION_DENIED, details: 'the caller could not be identified' });
      const caller = principalToString(principal);
      const granted = this.#grants.identitiesOf(principal);
      if (granted.length === 0) return cb({ code: grpc.status.PERMISSION_DENIED, details: `no identity is granted to ${caller}` });
      const inFlight = this.#callsPerCaller.get(caller) ?? 0;
      if (inFlight >= this.#maxCalls) return cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: `${caller} already has ${inFlight} Workload API calls in progress (at most ${this.#maxCalls})` });
      this.#callsPerCaller.set(caller, inFlight + 1);
      const done = (): void => {
        const n = (this.#callsPerCaller.get(caller) ?? 1) - 1;
        if (n > 0) this.#callsPerCaller.set(caller, n);
        else this.#callsPerCaller.delete(caller);
      };
      handle(call, granted, caller).then(
        (r) => {
          done();
          if ('$typeName' in r) cb(null, r);
          else cb(r as Status);
        },
        (err: unknown) => {
          done();
          this.#log.error({ caller, path: call.getPath(), err: (err as Error).message }, 'Workload API call failed');
          cb({ code: grpc.status.INTERNAL, details: 'internal error handling the request' });
        },
      );
    };
  }

  #open(kind: Kind, call: grpc.ServerWritableStream<unknown, unknown>, auth: CallAuthenticator): void {
    const bad = checkSecurityHeader(call.metadata);
    if (bad) return void call.emit('error', bad);
    if (this.#closed) return void call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'the Workload API is shutting down' });
    const principal = auth.authenticate(call);
    if (!principal) return void call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: 'the caller could not be identified' });
    const caller = principalToString(principal);
    const open = this.#perCaller.get(caller) ?? 0;
    if (open >= this.#maxStreams) {
      return void call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: `${caller} already has ${open} open Workload API streams (at most ${this.#maxStreams})` });
    }
    const stream: Stream = { kind, call, principal, caller, sent: undefined, blocked: false, dirty: false, ended: false };
    this.#perCaller.set(caller, open + 1);
    this.#streams.add(stream);
    const forget = (): void => this.#forget(stream);
    call.on('cancelled', forget);
    call.on('close', forget);
    call.on('error', forget);
    call.on('drain', () => {
      stream.blocked = false;
      if (stream.dirty) this.#update(stream);
    });
    this.#log.debug({ caller, kind }, 'Workload API stream opened');
    // The first response goes out at once (Workload API §4.3), or the stream ends with the reason there is none.
    this.#update(stream, true);
  }

  #build(s: Stream): Built {
    const ids = this.#grants.identitiesOf(s.principal);
    if (ids.length === 0) return { code: grpc.status.PERMISSION_DENIED, details: `no identity is granted to ${s.caller}` };
    const r = s.kind === 'x509-svid' ? x509SvidResponse(this.#store, ids) : s.kind === 'x509-bundles' ? x509BundlesResponse(this.#store) : jwtBundlesResponse(this.#store);
    if (r === 'no-svid') return { code: grpc.status.PERMISSION_DENIED, details: `none of the identities granted to ${s.caller} has an SVID yet` };
    if (r === 'no-bundle') return { code: grpc.status.UNAVAILABLE, details: `no trust bundle for ${this.#store.trustDomain} yet` };
    return r;
  }

  #update(s: Stream, first = false): void {
    if (s.ended) return;
    if (s.blocked) {
      s.dirty = true;
      return;
    }
    s.dirty = false;
    const built = this.#build(s);
    if ('code' in built) {
      // A bundle missing for a moment (a source reconnecting) does not end a stream that has state already.
      if (built.code === grpc.status.UNAVAILABLE && !first) return;
      return this.#end(s, built);
    }
    const bytes =
      s.kind === 'x509-svid'
        ? toBinary(X509SVIDResponseSchema, built as X509SVIDResponse)
        : s.kind === 'x509-bundles'
          ? toBinary(X509BundlesResponseSchema, built as X509BundlesResponse)
          : toBinary(JWTBundlesResponseSchema, built as JWTBundlesResponse);
    const hash = createHash('sha256').update(bytes).digest('base64');
    if (hash === s.sent) return;
    s.sent = hash;
    if (!s.call.write(built)) s.blocked = true;
    this.#onSent(s.kind);
  }

  #end(s: Stream, status: Status): void {
    if (s.ended) return;
    this.#forget(s);
    this.#log.info({ caller: s.caller, kind: s.kind, code: grpc.status[status.code] }, `Workload API stream ended: ${status.details}`);
    s.call.emit('error', status);
  }

  #forget(s: Stream): void {
    if (s.ended) return;
    s.ended = true;
    this.#streams.delete(s);
    const n = (this.#perCaller.get(s.caller) ?? 1) - 1;
    if (n > 0) this.#perCaller.set(s.caller, n);
    else this.#perCaller.delete(s.caller);
  }

  // Changes arrive in bursts (a CA rotation changes the bundle, then every SVID): one pass per event-loop turn.
  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      for (const s of [...this.#streams]) {
        try {
          this.#update(s);
        } catch (err) {
          this.#log.error({ caller: s.caller, err: (err as Error).message }, 'Workload API update failed');
          this.#end(s, { code: grpc.status.INTERNAL, details: 'internal error building the response' });
        }
      }
    });
  }
}
