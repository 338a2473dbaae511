// TLS contexts of mesh mTLS, both directions. Certificates and trust anchors only ever come by SDS (names from
// sds.ts); what the mesh description decides (which peer IDs are acceptable) sits in default_validation_context
// of a CombinedValidationContext. Envoy merges the SDS-delivered context onto that default (singular fields
// replaced, repeated fields concatenated), so a bundle rotation over SDS never drops the SAN matchers and a
// description change never touches the SDS part.
import type { Any } from '@bufbuild/protobuf/wkt';
import { DownstreamTlsContextSchema, UpstreamTlsContextSchema, type CommonTlsContextSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/tls_pb';
import { SubjectAltNameMatcher_SanType } from '#gen/envoy/extensions/transport_sockets/tls/v3/common_pb';
import type { TransportSocketSchema } from '#gen/envoy/config/core/v3/base_pb';
import type { SpiffeId } from '../spiffe/id.js';
import { sdsSecretConfig, type SdsPolicy } from './sds.js';
import { typed, type Init } from './typed.js';

export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';

/** The IDs of spiffeSanMatchers, deduplicated in order. */
export function sanMatcherIds(spiffeIds: readonly SpiffeId[]): string[] {
  return [...new Set(spiffeIds.map(String))];
}

/**
 * SAN matchers for exactly these SPIFFE IDs: san_type URI (the SPIFFE ID's only SAN; SAN_TYPE_UNSPECIFIED is
 * invalid) and an exact match. Envoy accepts a peer when any matcher matches.
 */
export function spiffeSanMatchers(spiffeIds: readonly SpiffeId[]) {
  return sanMatcherIds(spiffeIds).map((id) => ({
    sanType: SubjectAltNameMatcher_SanType.URI,
    matcher: { matchPattern: { case: 'exact' as const, value: id } },
  }));
}

export interface CommonTlsInput {
  /** The SPIFFE ID whose SVID this side presents (SDS secret name). */
  readonly svidName: string;
  /** The validation-context secret (`spiffe://<td>` or `ALL`). */
  readonly validationName: string;
  /** Peer IDs to require in the handshake itself; empty = any peer the trust anchors accept. */
  readonly peerSpiffeIds: readonly SpiffeId[];
  readonly alpn: readonly string[];
  readonly policy: SdsPolicy;
}

export function commonTlsContext(input: CommonTlsInput): Init<typeof CommonTlsContextSchema> {
  return {
    alpnProtocols: [...input.alpn],
    tlsCertificateSdsSecretConfigs: [sdsSecretConfig(input.svidName, input.policy)],
    validationContextType: {
      case: 'combinedValidationContext',
      value: {
        defaultValidationContext: { matchTypedSubjectAltNames: spiffeSanMatchers(input.peerSpiffeIds) },
        validationContextSdsSecretConfig: sdsSecretConfig(input.validationName, input.policy),
      },
    },
  };
}

function tlsSocket(typedConfig: Any): Init<typeof TransportSocketSchema> {
  return { name: TLS_TRANSPORT_SOCKET, configType: { case: 'typedConfig', value: typedConfig } };
}

/** Server side: a client certificate is required; who may call is decided by RBAC after the handshake. */
export function downstreamTlsSocket(input: CommonTlsInput): Init<typeof TransportSocketSchema> {
  return tlsSocket(typed(DownstreamTlsContextSchema, { commonTlsContext: commonTlsContext(input), requireClientCertificate: true }));
}

/** Client side: the server must present one of the expected IDs (exact URI SAN), checked in the handshake. */
export function upstreamTlsSocket(input: CommonTlsInput & { readonly sni: string }): Init<typeof TransportSocketSchema> {
  return tlsSocket(typed(UpstreamTlsContextSchema, { commonTlsContext: commonTlsContext(input), sni: input.sni }));
}
