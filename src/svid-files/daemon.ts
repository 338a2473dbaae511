// `trustplane svid write` without a running control plane: the embedded CA of the data directory, an SvidManager
// keeping the given identities fresh (renewal at about half the lifetime) in an identity store of its own, and the
// file writer following that store. Do not run it beside `trustplane serve` on the same data directory: two CA
// instances would each schedule rotations of the same files; with serve running, use its --svid-dir.
import { CertificateAuthority, type CaLogger } from '../ca/certificate-authority.js';
import { SvidManager } from '../ca/svid-manager.js';
import { systemClock, type Clock } from '../clock.js';
import { TrustplaneError } from '../errors.js';
import type { SpiffeId } from '../spiffe/id.js';
import { IdentityStore } from '../store/identity-store.js';
import { SvidFileWriter, type SvidFilesConfig, type SvidFilesLogger, type SvidFilesWrite } from './writer.js';

export interface SvidFilesDaemonOptions {
  readonly dataDir: string;
  readonly spiffeIds: readonly SpiffeId[];
  readonly config: SvidFilesConfig;
  readonly svidTtlMs?: number;
  readonly clock?: Clock;
  readonly logger?: CaLogger & SvidFilesLogger;
  readonly onWrite?: (w: SvidFilesWrite) => void;
}

export interface SvidFilesDaemon {
  readonly ca: CertificateAuthority;
  readonly store: IdentityStore;
  readonly writer: SvidFileWriter;
  close(): void;
}

export function startSvidFilesDaemon(opts: SvidFilesDaemonOptions): SvidFilesDaemon {
  const td = opts.spiffeIds[0]?.trustDomain;
  if (!td) throw new TrustplaneError('NO_SPIFFE_ID', 'svid files: at least one SPIFFE ID is needed');
  const other = opts.spiffeIds.find((id) => !id.memberOf(td));
  if (other) throw new TrustplaneError('MIXED_TRUST_DOMAINS', `svid files: ${other} is not in trust domain ${td.name}; one embedded CA issues for one trust domain`);
  const clock = opts.clock ?? systemClock;
  const store = new IdentityStore(td.name);
  const writer = new SvidFileWriter({ store, config: opts.config, ...(opts.logger ? { logger: opts.logger } : {}), ...(opts.onWrite ? { onWrite: opts.onWrite } : {}) }).start();
  const ca = CertificateAuthority.open({ trustDomain: td, dataDir: opts.dataDir, clock, ...(opts.logger ? { logger: opts.logger } : {}), ...(opts.svidTtlMs ? { svidTtlMs: opts.svidTtlMs } : {}) });
  const svids = new SvidManager({ ca, store, clock, ...(opts.logger ? { logger: opts.logger } : {}) });
  svids.setIdentities(opts.spiffeIds);
  return {
    ca,
    store,
    writer,
    close() {
      svids.close();
      writer.close();
      ca.close();
    },
  };
}
