import { SpiffeIdError } from './id-error.js';
import { checkPath, MAX_ID_BYTES, parseSpiffeUri, quote, SCHEME_PREFIX } from './syntax.js';
import { TrustDomain } from './trust-domain.js';

export { SpiffeIdError, type SpiffeIdErrorCode } from './id-error.js';

/** A SPIFFE ID: spiffe://<trust domain><path>. Instances are always valid and printed canonically. */
export class SpiffeId {
  readonly trustDomain: TrustDomain;
  /** "" for a trust domain's own ID, else "/seg/seg...". */
  readonly path: string;
  readonly #string: string;

  private constructor(trustDomain: TrustDomain, path: string) {
    this.trustDomain = trustDomain;
    this.path = path;
    this.#string = SCHEME_PREFIX + trustDomain.name + path;
  }

  static parse(s: string): SpiffeId {
    const { trustDomain, path } = parseSpiffeUri(s);
    return new SpiffeId(TrustDomain.parse(trustDomain), path);
  }

  /** Builds an ID from a trust domain and a path that must be "" or start with "/". */
  static fromPath(td: TrustDomain, path: string): SpiffeId {
    checkPath(path, path, 0);
    const id = new SpiffeId(td, path);
    const bytes = Buffer.byteLength(id.#string, 'utf8');
    if (bytes > MAX_ID_BYTES) {
      throw new SpiffeIdError('TOO_LONG', `SPIFFE ID ${quote(id.#string)} is ${bytes} bytes long; at most ${MAX_ID_BYTES} are allowed`);
    }
    return id;
  }

  toString(): string {
    return this.#string;
  }

  toJSON(): string {
    return this.#string;
  }

  equals(o: SpiffeId | undefined | null): boolean {
    return o instanceof SpiffeId && o.#string === this.#string;
  }

  memberOf(td: TrustDomain): boolean {
    return this.trustDomain.equals(td);
  }
}
