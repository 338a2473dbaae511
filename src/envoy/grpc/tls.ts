// TLS contexts gRPC accepts (gRFC A29): certificates and trust anchors come from certificate provider instances
// that the gRPC bootstrap defines (plugin file_watcher, reading the files trustplane writes); SDS-based contexts
// are NACKed by gRPC, so nothing here names an SDS secret.
//
// Server identity check on the client: gRPC reads only the untyped match_subject_alt_names (grpc-js compares an
// `exact` matcher with every DNS/URI/email/IP SAN; match_typed_subject_alt_names is ignored, so it would be a
// check that silently does not happen). A SPIFFE SVID carries exactly one SAN, its URI, so an exact match on the
// SPIFFE ID string is the exact URI SAN check Envoy's typed matcher would make.
// The server checks no SAN in the handshake (gRPC does not support it there); who may call is the RBAC filter's
// job, on the verified peer certificate's URI SAN.
import { create } from '@bufbuild/protobuf';
import { DownstreamTlsContextSchema, UpstreamTlsContextSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/tls_pb';
import { TransportSocketSchema, type TransportSocket } from '#gen/envoy/config/core/v3/base_pb';
import type { SpiffeId } from '../../spiffe/id.js';
import { TLS_TRANSPORT_SOCKET } from '../tls.js';
import { typed } from '../typed.js';
import { CERTIFICATE_PROVIDER_INSTANCE } from './names.js';

const instance = () => ({ instanceName: CERTIFICATE_PROVIDER_INSTANCE });

function socket(value: ReturnType<typeof typed>): TransportSocket {
  return create(TransportSocketSchema, { name: TLS_TRANSPORT_SOCKET, configType: { case: 'typedConfig', value } });
}

/** Client side: own SVID and the trust anchors from the provider; the server must present one of these IDs. */
export function grpcUpstreamTls(serverSpiffeIds: readonly SpiffeId[]): TransportSocket {
  const ids = [...new Set(serverSpiffeIds.map(String))];
  return socket(
    typed(UpstreamTlsContextSchema, {
      commonTlsContext: {
        tlsCertificateProviderInstance: instance(),
        validationContextType: {
          case: 'validationContext',
          value: {
            caCertificateProviderInstance: instance(),
            matchSubjectAltNames: ids.map((value) => ({ matchPattern: { case: 'exact' as const, value } })),
          },
        },
      },
    }),
  );
}

/** Server side: own SVID, a client certificate required and verified against the provider's trust anchors. */
export function grpcDownstreamTls(): TransportSocket {
  return socket(
    typed(DownstreamTlsContextSchema, {
      commonTlsContext: {
        tlsCertificateProviderInstance: instance(),
        validationContextType: { case: 'validationContext', value: { caCertificateProviderInstance: instance() } },
      },
      requireClientCertificate: true,
    }),
  );
}
