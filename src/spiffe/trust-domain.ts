import { SpiffeIdError } from './id-error.js';
import { checkTrustDomainName, parseSpiffeUri, quote, SCHEME_PREFIX } from './syntax.js';

export { SpiffeIdError } from './id-error.js';

/** A SPIFFE trust domain name, e.g. "example.org". Instances are always valid. */
export class TrustDomain {
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /** Accepts a bare name ("example.org") or the trust domain's SPIFFE ID ("spiffe://example.org"). */
  static parse(s: string): TrustDomain {
    if (s === '') throw new SpiffeIdError('EMPTY', 'trust domain is empty', 0);
    // Same test as go-spiffe: anything that looks like a URI is held to the SPIFFE ID rules.
    if (s.includes(':/')) {
      const { trustDomain, path } = parseSpiffeUri(s);
      if (path === '/') {
        throw new SpiffeIdError('TRAILING_SLASH', `trust domain ID ${quote(s)} ends with "/"`, s.length - 1);
      }
      if (path !== '') {
        const where = SCHEME_PREFIX.length + trustDomain.length;
        throw new SpiffeIdError(
          'HAS_PATH',
          `${quote(s)} is a workload SPIFFE ID, not a trust domain: it has the path ${quote(path)} at index ${where}`,
          where,
        );
      }
      return new TrustDomain(trustDomain);
    }
    checkTrustDomainName(s, s, 0);
    return new TrustDomain(s);
  }

  /** The trust domain's own SPIFFE ID, "spiffe://" + name. */
  idString(): string {
    return SCHEME_PREFIX + this.name;
  }

  toString(): string {
    return this.name;
  }

  equals(o: TrustDomain | undefined | null): boolean {
    return o instanceof TrustDomain && o.name === this.name;
  }
}
