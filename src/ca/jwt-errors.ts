// Errors of the CA's JWT signing keys. Messages name the file or setting at fault and never carry key material.
import { TrustplaneError } from '../errors.js';

export type JwtKeyErrorCode = 'JWT_KEY_STORE_CORRUPT' | 'JWT_KEY_STORE_IO' | 'JWT_KEY_TRUST_DOMAIN_MISMATCH' | 'JWT_TTL_INVALID' | 'JWT_NOT_ACTIVE';

export class JwtKeyError extends TrustplaneError {
  declare readonly code: JwtKeyErrorCode;
  constructor(code: JwtKeyErrorCode, message: string) {
    super(code, message);
  }
}
