// The inbound mode table: which filter chains a port gets for each mode, as one data table.
//
// Istio's PeerAuthentication meaning (pilot/pkg/networking/core/filterchain_options.go): PERMISSIVE accepts
// plaintext and mTLS on the same port, told apart by the tls_inspector listener filter, which sets the
// connection's transport protocol to "tls" for a TLS ClientHello (and records its ALPN); anything else stays
// "raw_buffer", Envoy's default when no listener filter detects a protocol. STRICT is the table without the
// plaintext rows; DISABLE is only the raw_buffer rows.
//
// A port's protocol is declared in the mesh description, so unlike Istio we need no HTTP/TCP split by ALPN or
// http_inspector: one TLS row and one plaintext row per port. The ALPN column (filter_chain_match
// application_protocols; empty = any) stays so a row can be narrowed later, e.g. to admit an Istio client's
// `istio-peer-exchange` separately from an application's own TLS.
import type { Mode } from '../mesh/model.js';

export type TransportProtocol = 'tls' | 'raw_buffer';

export interface FilterChainRow {
  /** FilterChain.name: shows up in Envoy's stats and config dump. */
  readonly name: string;
  readonly transportProtocol: TransportProtocol;
  readonly applicationProtocols: readonly string[];
  /** Terminates mesh mTLS: DownstreamTlsContext + RBAC of the allowed callers. */
  readonly mtls: boolean;
  readonly modes: readonly Mode[];
}

export const FILTER_CHAIN_TABLE: readonly FilterChainRow[] = [
  // name         transport      ALPN  mtls   modes
  { name: 'mtls', transportProtocol: 'tls', applicationProtocols: [], mtls: true, modes: ['PERMISSIVE', 'STRICT'] },
  // Plaintext, from clients not yet moved to mTLS. No RBAC: a plaintext caller has no identity to check, which
  // is what PERMISSIVE means (`trustplane lint` reports such a port as open).
  { name: 'plaintext', transportProtocol: 'raw_buffer', applicationProtocols: [], mtls: false, modes: ['PERMISSIVE', 'DISABLE'] },
];

export function filterChainRows(mode: Mode): readonly FilterChainRow[] {
  return FILTER_CHAIN_TABLE.filter((row) => row.modes.includes(mode));
}

/** The tls_inspector is needed only when some chain matches on TLS (it costs a peek at every new connection). */
export function needsTlsInspector(rows: readonly FilterChainRow[]): boolean {
  return rows.some((row) => row.transportProtocol === 'tls' || row.applicationProtocols.length > 0);
}
