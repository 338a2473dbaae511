import { TrustplaneError } from '../errors.js';

/** Why a SPIFFE ID or trust domain was rejected; one code per rule of the SPIFFE-ID specification. */
export type SpiffeIdErrorCode =
  | 'EMPTY'
  | 'WRONG_SCHEME'
  | 'MISSING_TRUST_DOMAIN'
  | 'BAD_TRUST_DOMAIN_CHAR'
  | 'TRUST_DOMAIN_TOO_LONG'
  | 'BAD_PATH_SEGMENT_CHAR'
  | 'EMPTY_SEGMENT'
  | 'DOT_SEGMENT'
  | 'TRAILING_SLASH'
  | 'NO_LEADING_SLASH'
  | 'PERCENT_ENCODED'
  | 'HAS_PORT'
  | 'HAS_USERINFO'
  | 'HAS_QUERY'
  | 'HAS_FRAGMENT'
  | 'HAS_PATH'
  | 'TOO_LONG';

export class SpiffeIdError extends TrustplaneError<SpiffeIdErrorCode> {
  /** Index into the rejected input where the problem is, when there is one place to point at. */
  readonly index: number | undefined;
  constructor(code: SpiffeIdErrorCode, message: string, index?: number) {
    super(code, message);
    this.index = index;
  }
}
