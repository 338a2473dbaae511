// From one access-log entry, as Envoy sends it, to what it says about one service port: which service and port
// (the listener's custom tags), which kind of connection, and from whom. Pure.
//
// The chain is the `trustplane.chain` tag when a logger sets one; generated listeners log every connection from
// the listener itself (see src/envoy/access-log.ts), where the chain follows from the entry: TLS properties or a
// handshake failure = the mTLS chain, NFCF (no filter chain matched) = none, anything else = the plaintext chain.
//
//   kind               when
//   rbac_denied        the RBAC filter closed it: connection_termination_details (TCP) or response_code_details
//                      (HTTP) start with "rbac_access_denied"
//   handshake_failure  downstream_transport_failure_reason is set (the TLS handshake failed), or the mTLS chain
//                      logged a connection without TLS properties
//   mtls               the mTLS chain: the caller is the peer certificate's first spiffe:// URI SAN
//   plaintext          the plaintext chain, or no chain matched (a plaintext connection refused by a STRICT
//                      listener): the source is the peer's IP address (downstream_direct_remote_address, which
//                      headers and PROXY protocol never rewrite, else downstream_remote_address)
import { ACCESS_LOG_TAGS, type AccessLogChain } from '../envoy/access-log.js';
import type { EntryFacts } from './entry-reader.js';
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

/** Classifies one entry; the refusal reason when it does not name a port by trustplane's tags. */
export function classify(e: EntryFacts): Classified | RefusalReason {
  const service = e.tags[ACCESS_LOG_TAGS.service];
  const portText = e.tags[ACCESS_LOG_TAGS.port];
  if (!service || !portText) return 'untagged';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return 'untagged';
  const chain = (e.tags[ACCESS_LOG_TAGS.chain] as AccessLogChain | undefined) ?? (e.noFilterChain ? undefined : e.tls ? 'mtls' : 'plaintext');
  const source = e.source || 'unknown';
  const caller = e.peerSpiffeId || NO_SPIFFE_ID;
  if (e.connectionTerminationDetails.startsWith(RBAC_DENIED) || e.responseCodeDetails.startsWith(RBAC_DENIED)) {
    return { service, port, kind: 'rbac_denied', source: e.tls ? caller : source };
  }
  if (e.downstreamTransportFailureReason !== '' || (chain === 'mtls' && !e.tls)) return { service, port, kind: 'handshake_failure', source };
  if (chain === 'mtls') return { service, port, kind: 'mtls', source: caller };
  return { service, port, kind: 'plaintext', source };
}
