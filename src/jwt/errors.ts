// Why a JWT-SVID was refused (or could not be minted): one stable code per reason, so callers, metrics and the
// `trustplane jwt verify` exit message name the same thing. Messages never quote the token or a signature.
import { TrustplaneError } from '../errors.js';

export type JwtSvidErrorCode =
  /** Not a JWS Compact Serialization of a JSON header and a JSON claims set. */
  | 'JWT_MALFORMED'
  /** Longer than the validator accepts. */
  | 'JWT_TOO_LARGE'
  /** `alg` is not one of RS/ES/PS 256/384/512 (JWT-SVID §2.1): `none`, HMAC and anything else. */
  | 'JWT_ALG_NOT_ALLOWED'
  /** A header other than alg, kid, typ (JWT-SVID §2), or `typ` other than JWT / JOSE (§2.3). */
  | 'JWT_HEADER_NOT_ALLOWED'
  /** No `kid`: the key cannot be chosen from the bundle. */
  | 'JWT_KID_MISSING'
  /** No key with this `kid` in the bundle of the token's trust domain. */
  | 'JWT_KID_UNKNOWN'
  /** The `kid` is a key of another trust domain than the one the token's `sub` claims. */
  | 'JWT_KID_OTHER_DOMAIN'
  /** The `alg` does not fit the key the `kid` names (e.g. RS256 with an EC key). */
  | 'JWT_ALG_KEY_MISMATCH'
  /** The signature does not verify: the header or claims were changed, or another key signed. */
  | 'JWT_SIGNATURE_INVALID'
  /** `sub` missing or not a SPIFFE ID of a workload. */
  | 'JWT_SUB_INVALID'
  /** `sub` is in a trust domain the validator does not accept, or has no bundle for. */
  | 'JWT_TRUST_DOMAIN_UNTRUSTED'
  | 'JWT_AUD_MISSING'
  /** None of the token's audiences is one the validator identifies with. */
  | 'JWT_AUD_MISMATCH'
  | 'JWT_EXP_MISSING'
  | 'JWT_EXPIRED'
  /** `nbf` or `iat` is in the future (beyond the leeway). */
  | 'JWT_NOT_YET_VALID'
  /** A registered claim has the wrong type (e.g. a string `exp`). */
  | 'JWT_CLAIM_INVALID'
  /** Minting: bad SPIFFE ID, audience or TTL. */
  | 'JWT_MINT_INVALID';

export class JwtSvidError extends TrustplaneError {
  declare readonly code: JwtSvidErrorCode;
  constructor(code: JwtSvidErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
