// What a requested resource name resolves to for one stream. Shared by every resource source and both protocol
// variants, so SotW and Delta make the same decisions.
import type { Node } from '#gen/envoy/config/core/v3/base_pb';
import type { NodePrincipal } from '../principal.js';

/** What the server keeps of a node: its ID and cluster (the rest of the message is not held per stream). */
export type NodeView = Pick<Node, 'id' | 'cluster'>;

/** What a stream is, as far as resolving names is concerned. Fixed for the stream's lifetime. */
export interface StreamContext {
  readonly principal: NodePrincipal;
  /** The node from the first request of the stream. */
  readonly node: NodeView;
  /** Resource group for listeners/clusters/routes/endpoints: the node's cluster (service name). */
  readonly group: string;
  /** False when node metadata sets disable_spiffe_cert_validation: plain trusted_ca contexts. */
  readonly spiffeCertValidation: boolean;
}

/** What `trustplane status --proxy` shows about a secret. Never anything of the key. */
export type SecretSummary =
  | {
      readonly kind: 'tls_certificate';
      readonly spiffeId: string;
      readonly serial: string;
      readonly notBefore: string;
      readonly notAfter: string;
    }
  | { readonly kind: 'validation_context'; readonly trustDomains: readonly string[] };

export interface ResolvedResource {
  readonly name: string;
  /** Derived from content: equal content, equal version. */
  readonly version: string;
  /** The encoded google.protobuf.Any, shared by every stream that receives this version. */
  readonly any: Uint8Array;
  readonly secret?: SecretSummary;
}

export type Resolution =
  | { readonly kind: 'found'; readonly resource: ResolvedResource }
  /** Valid and allowed, but not there (yet): remembered, pushed when it appears. */
  | { readonly kind: 'missing' }
  /** Not allowed for this caller: left out. */
  | { readonly kind: 'denied'; readonly reason: string }
  /** Not a name of this type at all: left out. */
  | { readonly kind: 'invalid'; readonly reason: string };

/** Resolves names of every type the server serves. */
export interface ResourceResolver {
  resolve(ctx: StreamContext, typeUrl: string, name: string): Resolution;
  /** Every name a wildcard subscription to this (wildcard) type currently covers. */
  wildcardNames(ctx: StreamContext, typeUrl: string): string[];
}
