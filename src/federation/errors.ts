// Why a bundle endpoint fetch was refused. Each reason is a stable, bounded label: it is the `reason` of
// trustplane_federation_refresh_errors_total, the `lastError.reason` of /federation, and the code users search for.
import { TrustplaneError } from '../errors.js';

export const FETCH_FAILURE_REASONS = {
  unreachable: 'the endpoint could not be connected to (refused, no route, name not resolved)',
  timeout: 'the endpoint did not answer in time (connect, TLS handshake or response)',
  tls: 'the TLS handshake failed, or the Web PKI certificate is not trusted or not for the URL\'s host (https_web)',
  endpoint_identity: 'the endpoint did not present a valid X509-SVID of the configured endpoint SPIFFE ID (https_spiffe)',
  no_endpoint_bundle: 'there is no bundle to authenticate the endpoint\'s SVID with (https_spiffe)',
  http_status: 'the endpoint answered with an HTTP status other than 200',
  redirect: 'a redirect to an invalid bundle endpoint URL, or too many redirects',
  too_large: 'the response body exceeds the size limit',
  malformed_json: 'the response body is not JSON',
  invalid_bundle: 'the document fails the SPIFFE bundle format\'s checks',
  no_authorities: 'the bundle holds no X.509 authority (nothing could be verified with it)',
  wrong_trust_domain: 'the bundle is for another trust domain (an authority names another trust domain, or it does not authenticate its own self-serving endpoint)',
  sequence_regression: 'the bundle\'s spiffe_sequence is lower than the one held, or equal with other contents',
  persist_failed: 'the fetched bundle could not be saved to the data directory, so it was not used',
} as const;

export type FetchFailureReason = keyof typeof FETCH_FAILURE_REASONS;

export class FederationError extends TrustplaneError {
  declare readonly code: string;
  constructor(
    readonly reason: FetchFailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`FEDERATION_${reason.toUpperCase()}`, message, options);
  }
}
