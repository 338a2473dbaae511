// From one access-log entry, as Envoy sends it, to what it says about one service port: which service and port
// (the listener's custom tags), which kind of connection, and from whom. Pure.
//
//   kind               when
//   rbac_denied        the RBAC filter closed it: connection_termination_details (TCP) or response_code_details
//                      (HTTP) start with "rbac_access_denied"
//   handshake_failure  downstream_transport_failure_reason is set (the TLS handshake failed), or the mTLS chain
//                      logged a connection without TLS properties
//   mtls               the mTLS chain: the caller is the peer certificate's first spiffe:// URI SAN
//   plaintext          the plaintext chain, or no chain matched (a plaintext connection refused by a STRICT
//                      listener): the source is the peer's IP address
import type { Address } from '#gen/envoy/config/core/v3/address_pb';
import type { AccessLogCommon } from '#gen/envoy/data/accesslog/v3/accesslog_pb';
import { ACCESS_LOG_TAGS } from '../envoy/access-log.js';
import type { ConnectionKind } from './evidence-view.js';

export interface Classified {
  readonly service: string;
  readonly port: number;
  readonly kind: ConnectionKind;
  /** Caller SPIFFE ID (mtls; rbac_denied over TLS) or source IP address (plaintext, handshake_failure). */
  readonly source: string;
}

/** Why an entry was not counted; also the `reason` label of trustplane_access_log_entries_refused_total. */
export type RefusalReason = 'untagged' | 'unknown_port' | 'not_holder';

export const NO_SPIFFE_ID = '(no SPIFFE ID)';
const RBAC_DENIED = 'rbac_access_denied';

function addressOf(a: Address | undefined): string {
  const v = a?.address;
  if (v?.case === 'socketAddress') return v.value.address;
  if (v?.case === 'pipe') return 'unix';
  if (v?.case === 'envoyInternalAddress') return 'internal';
  return 'unknown';
}

function spiffeIdOf(common: AccessLogCommon): string {
  for (const san of common.tlsProperties?.peerCertificateProperties?.subjectAltName ?? []) {
    if (san.san.case === 'uri' && san.san.value.startsWith('spiffe://')) return san.san.value;
  }
  return NO_SPIFFE_ID;
}

/** The physical peer: direct_remote is never rewritten from headers or PROXY protocol, remote may be. */
const sourceAddress = (c: AccessLogCommon): string => addressOf(c.downstreamDirectRemoteAddress ?? c.downstreamRemoteAddress);

/**
 * Classifies one entry. `responseCodeDetails` is the HTTP response's details (HTTP entries only). Returns the
 * refusal reason when the entry does not name a port by trustplane's tags.
 */
export function classify(common: AccessLogCommon, responseCodeDetails = ''): Classified | RefusalReason {
  const tags = common.customTags;
  const service = tags[ACCESS_LOG_TAGS.service];
  const portText = tags[ACCESS_LOG_TAGS.port];
  if (!service || !portText) return 'untagged';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return 'untagged';
  const chain = tags[ACCESS_LOG_TAGS.chain];
  const tls = common.tlsProperties !== undefined;
  if (common.connectionTerminationDetails.startsWith(RBAC_DENIED) || responseCodeDetails.startsWith(RBAC_DENIED)) {
    return { service, port, kind: 'rbac_denied', source: tls ? spiffeIdOf(common) : sourceAddress(common) };
  }
  if (common.downstreamTransportFailureReason !== '' || (chain === 'mtls' && !tls)) {
    return { service, port, kind: 'handshake_failure', source: sourceAddress(common) };
  }
  if (chain === 'mtls') return { service, port, kind: 'mtls', source: spiffeIdOf(common) };
  return { service, port, kind: 'plaintext', source: sourceAddress(common) };
}
