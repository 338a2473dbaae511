// The SPIFFE identity core: IDs, trust domains, matchers, PEM, trust bundles and X.509-SVID verification.
export { TrustDomain } from './trust-domain.js';
export { SpiffeId, SpiffeIdError, type SpiffeIdErrorCode } from './id.js';
export { matchAny, matchId, matchMemberOf, matchOneOf, type SpiffeIdMatcher } from './matcher.js';
export { certificateToPem, certificatesToPem, parseCertificatesPem, PemError, type PemErrorCode } from './pem.js';
export { BundleError, BundleSet, X509Bundle, type BundleErrorCode, type BundleOptions, type BundleSource } from './bundle.js';
export { JWT_SVID_USE, type JwtAuthority } from './jwt-authority.js';
export { verifyX509Svid, X509SvidError, type VerifiedX509Svid, type X509SvidErrorCode } from './x509svid.js';
