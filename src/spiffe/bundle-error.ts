import { TrustplaneError } from '../errors.js';

export type BundleErrorCode =
  | 'NOT_JSON'
  | 'NOT_AN_OBJECT'
  | 'MISSING_KEYS'
  | 'KEYS_NOT_ARRAY'
  | 'BAD_KEY'
  | 'MISSING_KTY'
  | 'BAD_USE'
  | 'MISSING_X5C'
  | 'X5C_NOT_ONE_CERT'
  | 'BAD_X5C'
  | 'KEY_MISMATCH'
  | 'BAD_SEQUENCE'
  | 'BAD_REFRESH_HINT'
  | 'BAD_PEM'
  | 'UNSUPPORTED_KEY'
  | 'MISSING_KID'
  | 'BAD_JWK'
  | 'DUPLICATE_KID';

export class BundleError extends TrustplaneError<BundleErrorCode> {
  /** Index of the offending entry of "keys" in a SPIFFE bundle document, when the problem is in one. */
  readonly keyIndex: number | undefined;
  constructor(code: BundleErrorCode, message: string, options?: { cause?: unknown; keyIndex?: number }) {
    super(code, message, options);
    this.keyIndex = options?.keyIndex;
  }
}
