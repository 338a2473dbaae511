// The identity store: the current X.509-SVIDs (by SPIFFE ID) and trust bundles (by trust domain name).
// Identity sources (the embedded CA, files, federation) write to it; the xDS server only reads from it and
// subscribes to its changes. Versions are derived from content, so re-setting identical content is not a change.
import { createHash, type X509Certificate } from 'node:crypto';
import type { X509Bundle } from '../spiffe/bundle.js';
import { sameJwtAuthority } from '../spiffe/jwt-authority.js';

/** One X.509-SVID with its private key. The key is never logged or serialised outside an SDS tls_certificate. */
export interface X509SvidRecord {
  /** Canonical SPIFFE ID string, e.g. spiffe://example.org/ns/orders/sa/orders-sa */
  readonly spiffeId: string;
  /** Leaf first, then intermediates up to (not including) a root in the bundle. */
  readonly chain: readonly X509Certificate[];
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Leaf serial number, upper-case hex. */
  readonly serial: string;
  /**
   * The leaf's DER, when the source has it without parsing (the embedded CA does): versioning by it spares a parse
   * that costs more than minting itself.
   */
  readonly leafDer?: Uint8Array;
  /** The chain as PEM, when the source has it without parsing (the embedded CA does): what SDS serves. */
  readonly chainPem?: string;
}

/** The chain as PEM: the source's own when it has one, else written from the parsed chain. */
export function chainPemOf(r: X509SvidRecord): string {
  return r.chainPem ?? r.chain.map((c) => c.toString()).join('');
}

export interface StoreChange {
  /** SPIFFE IDs whose SVID was added, replaced or removed. */
  readonly svids: readonly string[];
  /** Trust domain names whose bundle was added, replaced or removed. */
  readonly bundles: readonly string[];
}

export type StoreListener = (change: StoreChange) => void;

interface Versioned<T> {
  value: T;
  version: string;
}

function svidVersion(r: X509SvidRecord): string {
  const h = createHash('sha256');
  if (r.leafDer) h.update(r.leafDer);
  else for (const c of r.chain) h.update(c.raw);
  return h.digest('hex').slice(0, 16);
}

function bundleVersion(b: X509Bundle): string {
  const h = createHash('sha256');
  h.update(b.trustDomain.name);
  for (const c of b.x509Authorities) h.update(c.raw);
  return h.digest('hex').slice(0, 16);
}

function sameJwtAuthorities(a: X509Bundle, b: X509Bundle): boolean {
  return a.jwtAuthorities.length === b.jwtAuthorities.length && a.jwtAuthorities.every((x, i) => sameJwtAuthority(x, b.jwtAuthorities[i]!));
}

export class IdentityStore {
  readonly #svids = new Map<string, Versioned<X509SvidRecord>>();
  readonly #bundles = new Map<string, Versioned<X509Bundle>>();
  readonly #listeners = new Set<StoreListener>();
  #batch: { svids: Set<string>; bundles: Set<string> } | undefined;

  /** The trust domain this control plane issues identities in. */
  constructor(readonly trustDomain: string) {}

  getSvid(spiffeId: string): X509SvidRecord | undefined {
    return this.#svids.get(spiffeId)?.value;
  }

  svidVersion(spiffeId: string): string | undefined {
    return this.#svids.get(spiffeId)?.version;
  }

  svids(): X509SvidRecord[] {
    return [...this.#svids.values()].map((v) => v.value);
  }

  getBundle(trustDomain: string): X509Bundle | undefined {
    return this.#bundles.get(trustDomain)?.value;
  }

  bundleVersion(trustDomain: string): string | undefined {
    return this.#bundles.get(trustDomain)?.version;
  }

  /** Every bundle, sorted by trust domain name. */
  bundles(): X509Bundle[] {
    return [...this.#bundles.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v.value);
  }

  setSvid(record: X509SvidRecord): void {
    const version = svidVersion(record);
    if (this.#svids.get(record.spiffeId)?.version === version) return;
    this.#svids.set(record.spiffeId, { value: record, version });
    this.#changed('svids', record.spiffeId);
  }

  removeSvid(spiffeId: string): void {
    if (this.#svids.delete(spiffeId)) this.#changed('svids', spiffeId);
  }

  setBundle(bundle: X509Bundle): void {
    const version = bundleVersion(bundle);
    const name = bundle.trustDomain.name;
    // The version is of the X.509 content (what SDS serves, so a JWT key rotation pushes nothing to proxies); the
    // JWT authorities ride along: a change of them alone replaces the bundle and is told, under the same version.
    const held = this.#bundles.get(name);
    if (held?.version === version && sameJwtAuthorities(held.value, bundle)) return;
    this.#bundles.set(name, { value: bundle, version });
    this.#changed('bundles', name);
  }

  removeBundle(trustDomain: string): void {
    if (this.#bundles.delete(trustDomain)) this.#changed('bundles', trustDomain);
  }

  /** Applies several updates and notifies subscribers once, with every name that changed. */
  batch(fn: () => void): void {
    if (this.#batch) return fn();
    this.#batch = { svids: new Set(), bundles: new Set() };
    try {
      fn();
    } finally {
      const b = this.#batch;
      this.#batch = undefined;
      if (b.svids.size || b.bundles.size) this.#emit({ svids: [...b.svids], bundles: [...b.bundles] });
    }
  }

  subscribe(listener: StoreListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(kind: 'svids' | 'bundles', name: string): void {
    if (this.#batch) {
      this.#batch[kind].add(name);
      return;
    }
    this.#emit(kind === 'svids' ? { svids: [name], bundles: [] } : { svids: [], bundles: [name] });
  }

  // Every subscriber hears of every change even if one of them throws; the failures are raised afterwards.
  #emit(change: StoreChange): void {
    const errors: unknown[] = [];
    for (const l of [...this.#listeners]) {
      try {
        l(change);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} identity store subscribers failed`);
  }
}
