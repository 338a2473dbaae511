// The embedded CA as an identity source: the SvidManager mints and renews an SVID for every declared identity and
// publishes the CA's bundle.
import type { X509Certificate } from 'node:crypto';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import { SvidManager, type RenewalEvent, type SvidIssuer } from '../ca/svid-manager.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../observe/log.js';
import type { SpiffeId } from '../spiffe/id.js';
import type { IdentityStore } from '../store/identity-store.js';
import type { JwtSvidIssuer } from '../workload-api/jwt-profile.js';
import type { IdentitySource, IdentitySourceStatus, Readiness } from './identity-source.js';

export interface CaSourceOptions {
  readonly ca: CertificateAuthority;
  readonly store: IdentityStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The identity whose SVID the control plane itself needs to be ready (its server SVID). */
  readonly serverSpiffeId: string;
  readonly onRenewal?: (e: RenewalEvent) => void;
  /** Mints with the CA but serves another bundle (a replica's: the shared bundle of every replica's authorities). */
  readonly issuer?: SvidIssuer;
}

export class CaSource implements IdentitySource {
  readonly kind = 'embedded-ca';
  readonly #svids: SvidManager;

  constructor(private readonly opts: CaSourceOptions) {
    this.#svids = new SvidManager({ ca: opts.issuer ?? opts.ca, store: opts.store, clock: opts.clock, logger: opts.logger, ...(opts.onRenewal ? { onRenewal: opts.onRenewal } : {}) });
  }

  setIdentities(ids: readonly SpiffeId[]): void {
    this.#svids.setIdentities(ids);
  }

  started(): Promise<void> {
    return Promise.resolve();
  }

  ready(): Readiness {
    const { store, clock, serverSpiffeId } = this.opts;
    const svid = store.getSvid(serverSpiffeId);
    if (!svid || svid.notAfter.getTime() <= clock.now()) return { ready: false, reason: `no valid SVID for ${serverSpiffeId}` };
    if (!store.getBundle(store.trustDomain)) return { ready: false, reason: 'no trust bundle' };
    return { ready: true };
  }

  status(): IdentitySourceStatus {
    return { kind: this.kind, identities: this.#svids.identities().length };
  }

  jwtIssuer(): JwtSvidIssuer {
    return this.opts.ca.jwt;
  }

  intermediates(): readonly X509Certificate[] {
    return this.opts.ca.intermediates();
  }

  close(): void {
    this.#svids.close();
  }
}
