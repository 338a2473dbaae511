// Errors raised by the embedded CA. Messages name the file or setting at fault and never carry key material.
import { TrustplaneError } from '../errors.js';

export type CaErrorCode =
  | 'CA_KEY_TYPE_INVALID'
  | 'CA_STORE_CORRUPT'
  | 'CA_STORE_IO'
  | 'CA_KEY_EXPOSED'
  | 'CA_UPSTREAM_INVALID'
  | 'CA_NOT_ACTIVE'
  | 'SVID_ID_INVALID'
  | 'CA_TTL_INVALID'
  | 'CA_UPSTREAM_MISMATCH'
  | 'CA_TRUST_DOMAIN_MISMATCH'
  | 'SVID_KEY_INVALID'
  | 'SVID_TTL_INVALID';

export class CaError extends TrustplaneError {
  declare readonly code: CaErrorCode;
  constructor(code: CaErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
