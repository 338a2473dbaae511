// The embedded CA: holds the signing authorities (active, plus prepared and old ones around a rotation), mints
// X.509-SVIDs with the active one, publishes the bundle, and rotates on the schedule in rotation.ts.
import { X509Certificate } from 'node:crypto';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { X509Bundle } from '../spiffe/bundle.js';
import type { SpiffeId } from '../spiffe/id.js';
import type { TrustDomain } from '../spiffe/trust-domain.js';
import { buildCaCertificate } from './ca-cert.js';
import { CaStore, type AuthorityState, type JournalEntry } from './ca-store.js';
import { certificateFields } from './cert-fields.js';
import { CaError } from './errors.js';
import { generateKey, signatureAlgorithmFor, type KeyType } from './key-type.js';
import { IssuedX509Svid, MintedX509Svid } from './issued-svid.js';
import { generateLeafKey } from './leaf-key.js';
import { KeyRotation, type RotatingKey, type RotationLogger } from './key-rotation.js';
import { minimumCaTtlMs } from './rotation.js';
import { SvidTemplate } from './svid-template.js';
import { loadUpstream, type Upstream, type UpstreamFiles } from './upstream.js';
import { JwtKeyManager, type JwtKeyManagerOptions } from './jwt-key-manager.js';
import { DEFAULT_JWT_SVID_TTL_MS } from '../jwt/mint.js';

export const DEFAULT_CA_TTL_MS = 7 * 24 * 3600_000;
export const DEFAULT_SVID_TTL_MS = 3600_000;
/** Certificates start this much before they are made, for clock skew between peers (SPIRE backdates likewise). */
export const BACKDATE_MS = 10_000;
export { RECONCILE_RETRY_MS } from './key-rotation.js';

/** pino-compatible; receives identifiers and times only, never key material. */
export type CaLogger = RotationLogger;

export interface CertificateAuthorityOptions {
  readonly trustDomain: TrustDomain;
  /** The CA keeps its files in <dataDir>/ca. */
  readonly dataDir: string;
  readonly clock?: Clock;
  /** CA signing key type; default ec-p256. Applies to CAs created from now on. */
  readonly keyType?: KeyType;
  /** SVID key type; default ec-p256. */
  readonly svidKeyType?: KeyType;
  /** Lifetime of each CA certificate; default 7 days, at least 3 SVID TTLs. */
  readonly caTtlMs?: number;
  /** Default SVID lifetime; default 1 hour. */
  readonly svidTtlMs?: number;
  /** Sign with an intermediate issued by this upstream CA instead of a self-signed root. */
  readonly upstream?: UpstreamFiles;
  readonly logger?: CaLogger;
  /** JWT-SVID signing keys (algorithm, token TTL, issuer); they rotate on the CA's schedule and ride in its bundle. */
  readonly jwt?: Pick<JwtKeyManagerOptions, 'algorithm' | 'tokenTtlMs' | 'issuer'>;
}

export interface AuthorityStatus {
  readonly id: string;
  readonly state: AuthorityState;
  readonly certificate: X509Certificate;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Latest notAfter of an SVID it may have signed; an old CA leaves the bundle at this time. */
  readonly issuedUntil: Date | undefined;
}

/** A CA certificate in the journal; it signs SVIDs through its template (the signer) while prepared or active. */
interface Authority extends RotatingKey<SvidTemplate> {
  readonly keyType: KeyType;
  readonly certificate: X509Certificate;
  /** [own certificate, ...upstream intermediates]: appended to every SVID it signs. */
  readonly chainTail: X509Certificate[];
}

const RSA_OID = Buffer.from('2a864886f70d010101', 'hex');
const noLogger: CaLogger = { info() {}, warn() {} };
const floorSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;
const certTime = (s: string): number => Date.parse(s);

export class CertificateAuthority {
  readonly trustDomain: TrustDomain;
  readonly svidTtlMs: number;
  readonly #clock: Clock;
  readonly #keyType: KeyType;
  readonly #svidKeyType: KeyType;
  readonly #caTtlMs: number;
  readonly #store: CaStore;
  readonly #upstream: Upstream | undefined;
  readonly #logger: CaLogger;
  readonly #listeners = new Set<(bundle: X509Bundle) => void>();
  #rotation!: KeyRotation<Authority>;
  #bundle: X509Bundle | undefined;
  #jwt: JwtKeyManager | undefined;

  private constructor(opts: CertificateAuthorityOptions) {
    this.trustDomain = opts.trustDomain;
    this.#clock = opts.clock ?? systemClock;
    this.#keyType = opts.keyType ?? 'ec-p256';
    this.#svidKeyType = opts.svidKeyType ?? 'ec-p256';
    this.svidTtlMs = opts.svidTtlMs ?? DEFAULT_SVID_TTL_MS;
    this.#caTtlMs = opts.caTtlMs ?? DEFAULT_CA_TTL_MS;
    this.#logger = opts.logger ?? noLogger;
    if (!(Number.isSafeInteger(this.svidTtlMs) && this.svidTtlMs >= 60_000)) {
      throw new CaError('SVID_TTL_INVALID', `SVID TTL must be a whole number of milliseconds of at least one minute, got ${this.svidTtlMs}`);
    }
    if (!(Number.isSafeInteger(this.#caTtlMs) && this.#caTtlMs >= minimumCaTtlMs(this.svidTtlMs))) {
      throw new CaError(
        'CA_TTL_INVALID',
        `CA TTL must be at least 3 SVID TTLs (${minimumCaTtlMs(this.svidTtlMs)} ms for an SVID TTL of ${this.svidTtlMs} ms), got ${this.#caTtlMs}`,
      );
    }
    this.#store = new CaStore(opts.dataDir);
    this.#upstream = opts.upstream && loadUpstream(opts.upstream, this.#clock.now());
  }

  /** Loads the CA from the data directory, creating it on first use, and starts its rotation schedule. */
  static open(opts: CertificateAuthorityOptions): CertificateAuthority {
    const ca = new CertificateAuthority(opts);
    ca.#rotation = ca.#load();
    ca.#rotation.reconcile();
    ca.#jwt = JwtKeyManager.open({ trustDomain: ca.trustDomain, dataDir: opts.dataDir, clock: ca.#clock, logger: ca.#logger, keyTtlMs: Math.max(ca.#caTtlMs, minimumCaTtlMs(opts.jwt?.tokenTtlMs ?? DEFAULT_JWT_SVID_TTL_MS)), ...opts.jwt });
    ca.#bundle = undefined;
    ca.#jwt.onChange(() => {
      ca.#bundle = undefined;
      const bundle = ca.bundle();
      for (const l of [...ca.#listeners]) l(bundle);
    });
    return ca;
  }

  /** The JWT-SVID signing keys (src/ca/jwt-key-manager.ts). */
  get jwt(): JwtKeyManager {
    return this.#jwt!;
  }

  /** Every CA certificate a peer must trust now (in upstream mode: the upstream trust anchor). */
  bundle(): X509Bundle {
    // spiffe_sequence must change with any content: the sum of the two journals' sequences does, and only grows.
    this.#bundle ??= new X509Bundle(this.trustDomain, this.#published(), { sequence: this.#rotation.sequence + (this.#jwt?.sequence ?? 0), jwtAuthorities: this.#jwt?.authorities() ?? [] });
    return this.#bundle;
  }

  /**
   * The certificates between an SVID and the bundle, for every authority whose SVIDs may still be in use (empty for
   * a self-signed root): a peer that presents only its leaf, as a gRPC client certificate reaches the server, is
   * verified with these.
   */
  intermediates(): X509Certificate[] {
    const seen = new Set<string>();
    return this.#rotation.keys.flatMap((a) => a.chainTail).filter((c) => !seen.has(c.fingerprint256) && !!seen.add(c.fingerprint256));
  }

  /** Called synchronously whenever the bundle's authorities change; returns an unsubscribe function. */
  onBundleChange(listener: (bundle: X509Bundle) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Mints an SVID with a fresh key. */
  mintX509Svid(spiffeId: SpiffeId, opts: { ttlMs?: number } = {}): MintedX509Svid {
    const key = generateLeafKey(this.#svidKeyType);
    return new MintedX509Svid(spiffeId.toString(), key.privateKeyPem, this.signX509Svid(spiffeId, key.spkiDer, opts));
  }

  /** Signs an SVID for a public key the caller holds the private key of (SubjectPublicKeyInfo DER). */
  signX509Svid(spiffeId: SpiffeId, spkiDer: Buffer, opts: { ttlMs?: number } = {}): IssuedX509Svid {
    const active = this.#rotation.active();
    const now = this.#clock.now();
    if (!spiffeId.memberOf(this.trustDomain)) {
      throw new CaError('SVID_ID_INVALID', `cannot mint an SVID for ${spiffeId}: this CA issues only in trust domain ${this.trustDomain.name}`);
    }
    if (spiffeId.path === '') {
      throw new CaError('SVID_ID_INVALID', `cannot mint an SVID for ${spiffeId}: an X509-SVID's SPIFFE ID needs a path`);
    }
    const ttl = opts.ttlMs ?? this.svidTtlMs;
    if (!(Number.isFinite(ttl) && ttl >= 1000)) throw new CaError('SVID_TTL_INVALID', `SVID TTL must be at least 1000 ms, got ${ttl}`);
    const template = active?.signer;
    if (!active || !template) throw new CaError('CA_NOT_ACTIVE', 'the CA has no active signing authority (closed?)');
    const notBefore = floorSecond(Math.max(now - BACKDATE_MS, active.notBefore));
    const notAfter = floorSecond(Math.min(now + ttl, active.notAfter));
    this.#rotation.record(active, notAfter);
    let issued;
    try {
      const rsaKey = spkiDer.subarray(0, 24).includes(RSA_OID);
      issued = template.issue({ spiffeId: spiffeId.toString(), spkiDer, notBefore, notAfter, rsaKey });
    } catch (err) {
      if (err instanceof RangeError) throw new CaError('SVID_KEY_INVALID', `public key for ${spiffeId} is not a DER SubjectPublicKeyInfo`);
      throw err;
    }
    return new IssuedX509Svid(issued.der, active.chainTail, new Date(notBefore), new Date(notAfter), issued.serial);
  }

  /**
   * Rotates now: prepares and publishes a new CA (listeners see the new bundle first), then makes it active.
   * The old CA stays in the bundle until every SVID it signed has expired.
   */
  /** See KeyRotation.requirePublication: among replicas, an authority signs only once the datastore holds it. */
  requirePublication(): void {
    this.#rotation.requirePublication();
  }

  /** These authorities (by id) are in every replica's bundle from now on (as soon as each reads the datastore). */
  confirmPublished(ids: Iterable<string>): void {
    this.#rotation.confirmPublished(ids);
  }

  rotateNow(): void {
    this.#rotation.rotateNow();
  }

  status(): AuthorityStatus[] {
    return this.#rotation.keys.map((a) => ({
      id: a.id,
      state: a.state,
      certificate: a.certificate,
      notBefore: new Date(a.notBefore),
      notAfter: new Date(a.notAfter),
      issuedUntil: a.issued > 0 ? new Date(a.issued) : undefined,
    }));
  }

  /** Stops the rotation timer. */
  close(): void {
    this.#jwt?.close();
    this.#rotation.close();
  }

  #published(): X509Certificate[] {
    if (this.#upstream) return [this.#upstream.trustAnchor];
    const order: Record<AuthorityState, number> = { active: 0, prepared: 1, old: 2 };
    return [...this.#rotation.keys].sort((a, b) => order[a.state] - order[b.state]).map((a) => a.certificate);
  }

  #load(): KeyRotation<Authority> {
    const journal = this.#store.readJournal();
    const store = this.#store;
    return new KeyRotation<Authority>(
      {
        clock: this.#clock,
        logger: this.#logger,
        signedTtlMs: this.svidTtlMs,
        words: { field: 'ca', key: 'CA authority', journal: 'CA' },
        // A CA certificate is backdated: it was published BACKDATE_MS after its notBefore.
        publishedAt: (a) => a.notBefore + BACKDATE_MS,
        create: (state) => this.#create(state),
        fingerprint: () => this.#published().map((c) => c.fingerprint256).join(),
        write: (authorities, bundleSequence) =>
          store.writeJournal({ bundleSequence, authorities: authorities.map((a) => ({ id: a.id, state: a.state, keyType: a.keyType, issuedUntil: a.reserved })) }),
        retire: (id) => store.removeKey(id),
        forget: (id) => store.removeAuthority(id),
        committed: (bundleChanged) => {
          if (!bundleChanged) return;
          this.#bundle = undefined;
          const bundle = this.bundle();
          for (const l of [...this.#listeners]) l(bundle);
        },
      },
      journal && { sequence: journal.bundleSequence, keys: journal.authorities.map((e) => this.#restore(e)) },
    );
  }

  #restore(entry: JournalEntry): Authority {
    const certificate = this.#store.readCertificate(entry.id);
    // Every CA trustplane makes names its trust domain (URI SAN spiffe://td): a data directory of another trust
    // domain must not sign for this one, nor publish its CA as this domain's bundle.
    const own = `URI:${this.trustDomain.idString()}`;
    if (!(certificate.subjectAltName ?? '').split(', ').includes(own)) {
      throw new CaError(
        'CA_TRUST_DOMAIN_MISMATCH',
        `${this.#store.certFile(entry.id)} is a CA of another trust domain (${certificate.subjectAltName ?? 'no URI SAN'}), not of ${this.trustDomain.name}: use another data directory`,
      );
    }
    const issuer = this.#upstream?.certificate ?? certificate;
    if (entry.state !== 'old' && !certificate.verify(issuer.publicKey)) {
      throw new CaError(
        'CA_UPSTREAM_MISMATCH',
        `${this.#store.certFile(entry.id)} was not signed by ${this.#upstream ? 'the configured upstream CA' : 'itself'}: the upstream setting changed since this CA was made; restore it or remove ${this.#store.dir} to start a new CA`,
      );
    }
    const authority = this.#authority(entry.id, entry.state, entry.keyType, certificate, entry.issuedUntil);
    if (entry.state !== 'old') authority.signer = this.#template(certificate, this.#store.readPrivateKey(entry.id, certificate));
    return authority;
  }

  #authority(id: string, state: AuthorityState, keyType: KeyType, certificate: X509Certificate, issuedUntil: number): Authority {
    return {
      id, state, keyType, certificate,
      notBefore: certTime(certificate.validFrom),
      notAfter: certTime(certificate.validTo),
      // A self-signed CA is a trust anchor: peers have it from the bundle, and an SVID chain never carries its root.
      chainTail: this.#upstream ? [certificate, ...this.#upstream.chainTail] : [],
      signer: undefined,
      issued: issuedUntil,
      reserved: issuedUntil,
    };
  }

  #template(certificate: X509Certificate, privateKey: import('node:crypto').KeyObject): SvidTemplate {
    const fields = certificateFields(certificate.raw);
    const algorithm = signatureAlgorithmFor(privateKey);
    if (!algorithm) throw new CaError('CA_KEY_TYPE_INVALID', `CA key for ${certificate.serialNumber} is of an unsupported type`);
    return new SvidTemplate({ subjectDer: fields.subjectDer, keyId: fields.keyId, privateKey, algorithm });
  }

  #create(state: AuthorityState): Authority {
    const now = this.#clock.now();
    const key = generateKey(this.#keyType);
    const algorithm = signatureAlgorithmFor(key.privateKey)!;
    const upstreamEnd = this.#upstream ? certTime(this.#upstream.certificate.validTo) : Infinity;
    const der = buildCaCertificate({
      trustDomainId: this.trustDomain.idString(),
      spkiDer: key.spkiDer,
      notBefore: floorSecond(now - BACKDATE_MS),
      notAfter: floorSecond(Math.min(now + this.#caTtlMs, upstreamEnd)),
      self: { privateKey: key.privateKey, algorithm },
      ...(this.#upstream ? { issuer: this.#upstream.issuer } : {}),
    });
    const certificate = new X509Certificate(der);
    const id = certificate.serialNumber.toUpperCase();
    this.#store.writeAuthority(id, certificate.toString(), key.privateKeyPem);
    const authority = this.#authority(id, state, this.#keyType, certificate, 0);
    authority.signer = this.#template(certificate, key.privateKey);
    this.#logger.info({ ca: id, state, notAfter: new Date(authority.notAfter).toISOString() }, 'CA authority created');
    return authority;
  }
}
