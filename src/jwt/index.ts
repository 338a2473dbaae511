// JWT-SVIDs: minting (on jose) and validation with an exact reason for every refusal.
//
// The API in one place (what the Workload API builds on):
//   mint      ca.jwt.mint(spiffeId, audiences, { ttlMs? }) -> JwtSvid { token, spiffeId, audience, keyId, issuedAt, expiresAt }
//             (ca: CertificateAuthority; ca.jwt is its JwtKeyManager, src/ca/jwt-key-manager.ts)
//   validate  validateJwtSvid(token, { audience, bundles, trustDomain?, clock?, leewayMs? }) -> ValidatedJwtSvid,
//             or a JwtSvidError whose code says why; `bundles` is any JwtBundleSource (an IdentityStore, a BundleSet)
//   bundles   X509Bundle.jwtAuthorities / findJwtAuthority(kid) / toJwtBundleJson() (FetchJWTBundles' document);
//             toSpiffeJson() carries x509-svid and jwt-svid keys together, fromSpiffeJson() reads both
export { DEFAULT_SIGNING_ALGORITHM, JWT_SVID_ALGORITHMS, parseSigningAlgorithm, SIGNING_ALGORITHMS, type JwtSvidAlgorithm, type SigningAlgorithm } from './algorithms.js';
export { JwtSvidError, type JwtSvidErrorCode } from './errors.js';
export { checkAudience, DEFAULT_JWT_SVID_TTL_MS, MAX_AUDIENCES, MAX_JWT_SVID_TTL_MS, type JwtSvid } from './mint.js';
export { DEFAULT_LEEWAY_MS, MAX_TOKEN_BYTES, validateJwtSvid, type JwtBundleSource, type JwtSvidValidationOptions, type ValidatedJwtSvid } from './validate.js';
export { JwtKeyManager, type JwtKeyManagerOptions, type JwtKeyStatus } from '../ca/jwt-key-manager.js';
