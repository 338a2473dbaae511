// The resolved mesh model: what the rest of trustplane reads. Every default is applied and every reference
// is resolved here, so the Envoy builders never have to look at the YAML or guess.
import type { SpiffeId } from '../spiffe/id.js';
import type { SpiffeIdMatcher } from '../spiffe/matcher.js';
import type { TrustDomain } from '../spiffe/trust-domain.js';

/** Istio PeerAuthentication meaning: DISABLE = plaintext only, PERMISSIVE = plaintext and mTLS, STRICT = mTLS only. */
export type Mode = 'DISABLE' | 'PERMISSIVE' | 'STRICT';
export const MODES: readonly Mode[] = ['DISABLE', 'PERMISSIVE', 'STRICT'];
export const DEFAULT_MODE: Mode = 'PERMISSIVE';

export type Protocol = 'http' | 'tcp' | 'grpc';
export const PROTOCOLS: readonly Protocol[] = ['http', 'tcp', 'grpc'];

/**
 * What runs the proxy: `sidecar` beside an application, `gateway` an edge gateway (external TLS in, mesh mTLS
 * out), `vm` a VM's Envoy that may call into an Istio mesh, `grpc` a proxyless gRPC application.
 */
export type Target = 'sidecar' | 'gateway' | 'vm' | 'grpc';
export const TARGETS: readonly Target[] = ['sidecar', 'gateway', 'vm', 'grpc'];

export type BundleFormat = 'pem' | 'spiffe';
export type BundleEndpointProfile = 'https_web' | 'https_spiffe';

/** A SPIFFE bundle endpoint (SPIFFE Federation §5.1): fetched by src/federation. */
export interface BundleEndpoint {
  readonly url: string;
  readonly profile: BundleEndpointProfile;
  /** https_spiffe: the SPIFFE ID the endpoint must present. */
  readonly endpointSpiffeId?: SpiffeId;
}

/** Which level of the description an effective mode came from (shown by rollout status). */
export type ModeSource = 'port' | 'service' | 'mesh';

/**
 * A node principal: who may receive an identity over SDS. `uid` = the Unix-socket peer uid; `node` = a node
 * authenticated by its own node SVID over TCP, or by a per-workload socket.
 */
export type NodePrincipal = { readonly kind: 'uid'; readonly uid: number } | { readonly kind: 'node'; readonly name: string };

export interface Federation {
  readonly trustDomain: TrustDomain;
  /** Path of the bundle file, resolved against the mesh file's directory; loading it is the caller's job. */
  readonly bundleFile?: string;
  readonly format: BundleFormat;
  readonly bundleEndpoint?: BundleEndpoint;
  readonly path: string;
}

export interface InboundPort {
  /** Port the proxy listens on. */
  readonly port: number;
  readonly appPort: number;
  readonly appAddress: string;
  /**
   * Target grpc: the address the gRPC server itself binds for this port (GRPC_DEFAULT_LISTEN_ADDRESS unless the
   * description says). Other targets' proxies bind the generator's inboundBindAddress option.
   */
  readonly listenAddress: string;
  readonly protocol: Protocol;
  readonly mode: Mode;
  readonly modeSource: ModeSource;
  /** STRICT whatever the traffic evidence says (the STRICT gate is overridden); the port's or else the service's. */
  readonly force: boolean;
  readonly path: string;
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** An Istio service as Istio's own clients address it (see resolve.ts for the defaults). */
export interface IstioDestination {
  /** The service's host in Istio, e.g. reviews.bookinfo.svc.cluster.local. */
  readonly host: string;
  /** The service's port in Istio (part of the SNI), which may differ from the port the VM connects to. */
  readonly port: number;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly trustDomain: TrustDomain;
  /** spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>: also the dependency's only spiffeIds entry. */
  readonly spiffeId: SpiffeId;
}

interface OutboundBase {
  /** Unique per service; a mesh dependency is named after its server service. */
  readonly name: string;
  readonly endpoints: readonly Endpoint[];
  readonly protocol: Protocol;
  /** SPIFFE IDs the server may present (exact SAN match); empty when the server is plaintext (DISABLE). */
  readonly spiffeIds: readonly SpiffeId[];
  /** The server's mode: the effective mode of its port for a mesh service, as declared for an external one. */
  readonly serverMode: Mode;
  /** Local port the proxy listens on for the application's plaintext to this dependency, if declared. */
  readonly listenPort?: number;
  readonly path: string;
}

export interface MeshOutbound extends OutboundBase {
  readonly kind: 'service';
  readonly service: string;
  /** The server's inbound listen port this dependency connects to. */
  readonly port: number;
}

export interface ExternalOutbound extends OutboundBase {
  readonly kind: 'external';
  /** Set when the server is a service of an Istio mesh; the builders derive SNI and ALPN from it. */
  readonly istio?: IstioDestination;
  /** TLS server name and ALPN as written; generated for targets vm and gateway only. */
  readonly sni?: string;
  readonly alpn?: readonly string[];
}

export type Outbound = MeshOutbound | ExternalOutbound;

/** One entry of allowedCallers as written; `service` entries carry that service's SPIFFE ID. */
export type CallerRule =
  | { readonly kind: 'spiffeId'; readonly spiffeId: SpiffeId; readonly path: string }
  | { readonly kind: 'service'; readonly service: string; readonly spiffeId: SpiffeId; readonly path: string }
  | { readonly kind: 'trustDomain'; readonly trustDomain: TrustDomain; readonly path: string };

export interface AllowedCallers {
  /** True when the description gave no list: every member of the mesh's own trust domain is admitted. */
  readonly implicit: boolean;
  readonly rules: readonly CallerRule[];
  /** Every exact ID admitted (from spiffeId and service entries), deduplicated, in description order. */
  readonly spiffeIds: readonly SpiffeId[];
  readonly trustDomains: readonly TrustDomain[];
  /** Admits exactly the IDs and trust-domain members above. */
  readonly matcher: SpiffeIdMatcher;
  readonly path: string;
}

export interface GatewayTls {
  readonly certificateFile: string;
  readonly privateKeyFile: string;
  /** When set, clients are asked for a certificate and it is checked against these CAs. */
  readonly clientCaFile?: string;
  /** Only with clientCaFile: clients without a certificate are refused. */
  readonly requireClientCertificate: boolean;
  readonly path: string;
}

export interface GatewayListener {
  readonly port: number;
  readonly hosts: readonly string[];
  readonly tls: GatewayTls;
  readonly path: string;
}

export interface GatewayRoute {
  readonly host: string;
  readonly pathPrefix: string;
  /** Name of an outbound dependency of the gateway service. */
  readonly dependency: string;
  readonly path: string;
}

export interface Gateway {
  /** In description order; entries may share a port (then told apart by TLS server name). */
  readonly listeners: readonly GatewayListener[];
  readonly routes: readonly GatewayRoute[];
  readonly path: string;
}

export interface Service {
  readonly name: string;
  readonly spiffeId: SpiffeId;
  /** Host the service's proxy is reached at by clients (defaults to the service name). */
  readonly address: string;
  readonly target: Target;
  readonly nodes: readonly NodePrincipal[];
  readonly mode: Mode;
  readonly modeSource: Exclude<ModeSource, 'port'>;
  readonly inbound: readonly InboundPort[];
  readonly outbound: readonly Outbound[];
  readonly allowedCallers: AllowedCallers;
  /** Present exactly when target is gateway. */
  readonly gateway?: Gateway;
  readonly path: string;
}

export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

export interface MeshModel {
  readonly file: string;
  readonly trustDomain: TrustDomain;
  readonly defaultMode: Mode;
  /** Whether generated listeners send connection access logs to trustplane (default true). */
  readonly accessLogs: boolean;
  readonly federation: readonly Federation[];
  /** In description order. */
  readonly services: readonly Service[];
  serviceByName(name: string): Service | undefined;
  serviceBySpiffeId(spiffeId: SpiffeId | string): Service | undefined;
  /** Services whose identity this principal may receive over SDS, in description order. */
  servicesForPrincipal(principal: NodePrincipal): readonly Service[];
  /** Own trust domain first, then the federated ones in description order. */
  knownTrustDomains(): readonly TrustDomain[];
  /** Whether the service admits a caller presenting this SPIFFE ID (over mTLS). */
  admitsCaller(service: Service, caller: SpiffeId): boolean;
  /** Line and column (1-based) of a field path such as `services[2].inbound[0].port`, when it was in the file. */
  locate(path: string): SourcePosition | undefined;
}
