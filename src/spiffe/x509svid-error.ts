import { TrustplaneError } from '../errors.js';

/** One code per way an X.509-SVID can fail verification (X509-SVID spec §4, §5; RFC 5280 §6). */
export type X509SvidErrorCode =
  | 'EMPTY_CHAIN'
  | 'MALFORMED_CERTIFICATE'
  | 'LEAF_NO_URI_SAN'
  | 'LEAF_MULTIPLE_URI_SANS'
  | 'LEAF_BAD_SPIFFE_ID'
  | 'LEAF_ID_NO_PATH'
  | 'LEAF_IS_CA'
  | 'LEAF_NO_DIGITAL_SIGNATURE'
  | 'LEAF_KEY_CERT_SIGN'
  | 'LEAF_CRL_SIGN'
  | 'UNHANDLED_CRITICAL_EXTENSION'
  | 'NO_BUNDLE'
  | 'INTERMEDIATE_NOT_CA'
  | 'INTERMEDIATE_NO_KEY_CERT_SIGN'
  | 'PATH_LENGTH_EXCEEDED'
  | 'UNTRUSTED'
  | 'NOT_YET_VALID'
  | 'EXPIRED';

export class X509SvidError extends TrustplaneError<X509SvidErrorCode> {}
