// Trust bundles: the CA certificates (and JWT signing keys) that are authoritative for one trust domain. A bundle
// is always kept with the name of its trust domain, because an SVID must be verified against its own domain's
// bundle. The JWT authorities ride along so that every place a bundle travels (SDS, bundle endpoints, the
// Workload API) carries them too; X.509 consumers simply ignore them.
import type { X509Certificate } from 'node:crypto';
import { BundleError } from './bundle-error.js';
import { bundleJson, parseBundleJson } from './bundle-json.js';
import { sameJwtAuthority, type JwtAuthority } from './jwt-authority.js';
import { certificatesToPem, parseCertificatesPem, PemError } from './pem.js';
import type { TrustDomain } from './trust-domain.js';

export { BundleError, type BundleErrorCode } from './bundle-error.js';
export { JWT_SVID_USE, type JwtAuthority } from './jwt-authority.js';

export interface BundleOptions {
  /** spiffe_sequence: changes whenever the bundle's contents change. */
  sequence?: number;
  /** spiffe_refresh_hint, in seconds. */
  refreshHintSeconds?: number;
  /** JWT-SVID signing keys of the trust domain ("jwt-svid" entries); none by default. */
  jwtAuthorities?: readonly JwtAuthority[];
}

export class X509Bundle {
  readonly trustDomain: TrustDomain;
  readonly x509Authorities: readonly X509Certificate[];
  /** JWT-SVID signing keys, unique by key ID. */
  readonly jwtAuthorities: readonly JwtAuthority[];
  readonly sequence?: number;
  readonly refreshHintSeconds?: number;

  constructor(trustDomain: TrustDomain, x509Authorities: readonly X509Certificate[], opts: BundleOptions = {}) {
    const what = `X.509 bundle for ${trustDomain.name}`;
    if (opts.sequence !== undefined && !(Number.isSafeInteger(opts.sequence) && opts.sequence >= 0)) {
      throw new BundleError('BAD_SEQUENCE', `${what}: sequence must be an integer from 0 to 2^53-1, got ${opts.sequence}`);
    }
    if (opts.refreshHintSeconds !== undefined && !(Number.isSafeInteger(opts.refreshHintSeconds) && opts.refreshHintSeconds >= 0)) {
      throw new BundleError('BAD_REFRESH_HINT', `${what}: refresh hint must be a whole number of seconds >= 0, got ${opts.refreshHintSeconds}`);
    }
    this.trustDomain = trustDomain;
    this.x509Authorities = Object.freeze(dedupe(x509Authorities));
    const jwt = opts.jwtAuthorities ?? [];
    const dup = jwt.find((a, i) => jwt.findIndex((b) => b.keyId === a.keyId) !== i);
    if (dup) throw new BundleError('DUPLICATE_KID', `${what}: two JWT authorities have the key ID "${dup.keyId}"`);
    this.jwtAuthorities = Object.freeze([...jwt]);
    if (opts.sequence !== undefined) this.sequence = opts.sequence;
    if (opts.refreshHintSeconds !== undefined) this.refreshHintSeconds = opts.refreshHintSeconds;
  }

  /** Reads one or more PEM CERTIFICATE blocks; an empty document or any other block type is an error. */
  static fromPem(td: TrustDomain, pem: string): X509Bundle {
    try {
      return new X509Bundle(td, parseCertificatesPem(pem, `X.509 bundle for ${td.name}`));
    } catch (e) {
      if (e instanceof PemError) throw new BundleError('BAD_PEM', e.message, { cause: e });
      throw e;
    }
  }

  toPem(): string {
    return certificatesToPem(this.x509Authorities);
  }

  /** Reads the SPIFFE bundle format (a JWK Set) with its x509-svid and jwt-svid keys; unknown uses or key types are skipped. */
  static fromSpiffeJson(td: TrustDomain, json: string): X509Bundle {
    const parsed = parseBundleJson(json, `SPIFFE bundle for ${td.name}`);
    const opts: BundleOptions = { jwtAuthorities: parsed.jwtAuthorities };
    if (parsed.sequence !== undefined) opts.sequence = parsed.sequence;
    if (parsed.refreshHintSeconds !== undefined) opts.refreshHintSeconds = parsed.refreshHintSeconds;
    return new X509Bundle(td, parsed.authorities, opts);
  }

  toSpiffeJson(): string {
    return bundleJson(this.x509Authorities, this.sequence, this.refreshHintSeconds, `SPIFFE bundle for ${this.trustDomain.name}`, this.jwtAuthorities);
  }

  /** The SPIFFE bundle document with only the jwt-svid keys: a JWT bundle, as the Workload API's FetchJWTBundles serves it. */
  toJwtBundleJson(): string {
    return bundleJson([], this.sequence, this.refreshHintSeconds, `JWT bundle for ${this.trustDomain.name}`, this.jwtAuthorities);
  }

  /** The JWT authority with this key ID, if the trust domain has one. */
  findJwtAuthority(keyId: string): JwtAuthority | undefined {
    return this.jwtAuthorities.find((a) => a.keyId === keyId);
  }

  /** The same bundle with other JWT authorities; the sequence, when set, goes up by one if they changed. */
  withJwtAuthorities(jwtAuthorities: readonly JwtAuthority[]): X509Bundle {
    const same = jwtAuthorities.length === this.jwtAuthorities.length && jwtAuthorities.every((a) => this.jwtAuthorities.some((b) => sameJwtAuthority(a, b)));
    const opts: BundleOptions = { jwtAuthorities };
    if (this.sequence !== undefined) opts.sequence = same ? this.sequence : this.sequence + 1;
    if (this.refreshHintSeconds !== undefined) opts.refreshHintSeconds = this.refreshHintSeconds;
    return new X509Bundle(this.trustDomain, this.x509Authorities, opts);
  }

  /**
   * The same bundle with other authorities. The sequence, when set, goes up by one if the set of certificates
   * changed, because the spec requires it to change with the contents.
   */
  withAuthorities(certs: readonly X509Certificate[]): X509Bundle {
    const next = dedupe(certs);
    const opts: BundleOptions = { jwtAuthorities: this.jwtAuthorities };
    if (this.sequence !== undefined) opts.sequence = sameSet(this.x509Authorities, next) ? this.sequence : this.sequence + 1;
    if (this.refreshHintSeconds !== undefined) opts.refreshHintSeconds = this.refreshHintSeconds;
    return new X509Bundle(this.trustDomain, next, opts);
  }

  hasAuthority(cert: X509Certificate): boolean {
    return this.x509Authorities.some((a) => a.raw.equals(cert.raw));
  }
}

function dedupe(certs: readonly X509Certificate[]): X509Certificate[] {
  const seen = new Set<string>();
  const out: X509Certificate[] = [];
  for (const c of certs) {
    const key = c.raw.toString('base64');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c);
  }
  return out;
}

function sameSet(a: readonly X509Certificate[], b: readonly X509Certificate[]): boolean {
  const keys = new Set(a.map((c) => c.raw.toString('base64')));
  return a.length === b.length && b.every((c) => keys.has(c.raw.toString('base64')));
}

/** Where verifiers look up the bundle of a trust domain, by name ("example.org"). */
export interface BundleSource {
  getBundle(trustDomain: string): X509Bundle | undefined;
}

/** One bundle per trust domain; adding a bundle replaces the one held for its trust domain. */
export class BundleSet implements BundleSource {
  readonly #bundles = new Map<string, X509Bundle>();

  constructor(bundles: Iterable<X509Bundle> = []) {
    for (const b of bundles) this.add(b);
  }

  add(bundle: X509Bundle): void {
    this.#bundles.set(bundle.trustDomain.name, bundle);
  }

  remove(trustDomain: string): boolean {
    return this.#bundles.delete(trustDomain);
  }

  getBundle(trustDomain: string): X509Bundle | undefined {
    return this.#bundles.get(trustDomain);
  }

  has(trustDomain: string): boolean {
    return this.#bundles.has(trustDomain);
  }

  /** Every bundle, sorted by trust domain name. */
  bundles(): X509Bundle[] {
    const byName = (a: X509Bundle, b: X509Bundle): number => (a.trustDomain.name < b.trustDomain.name ? -1 : 1);
    return [...this.#bundles.values()].sort(byName);
  }

  get size(): number {
    return this.#bundles.size;
  }
}
