// How a generated listener tells trustplane which connection an access-log entry is about. The Envoy protos carry
// no filter-chain name in an entry, so each filter chain's gRPC access logger sets literal custom tags (the
// listener's own logger sets them without a chain, for connections no chain matched). The receiver
// (src/traffic/classify.ts) reads exactly these tags: this module is the one place their names are written.

/** `log_name` of every access logger trustplane generates: the first message of each ALS stream carries it. */
export const ACCESS_LOG_NAME = 'trustplane';

/** Custom tag keys set on every entry. */
export const ACCESS_LOG_TAGS = {
  /** The mesh service whose listener logged the connection. */
  service: 'trustplane.service',
  /** The inbound port (the listener's port). */
  port: 'trustplane.port',
  /** The mode the listener was generated for: DISABLE | PERMISSIVE | STRICT. */
  mode: 'trustplane.mode',
  /** Which filter chain: `mtls` or `plaintext`; absent on the listener's own logger (no chain matched). */
  chain: 'trustplane.chain',
} as const;

/** The values of the chain tag. */
export type AccessLogChain = 'mtls' | 'plaintext';
