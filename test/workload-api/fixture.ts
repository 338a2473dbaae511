// A Workload API server on real parts: the embedded CA on a ManualClock, the SvidManager keeping SVIDs in the
// identity store, a federated bundle, and the Workload API on real Unix sockets (one per uid, as under root).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { SvidManager } from '../../src/ca/svid-manager.js';
import { ManualClock } from '../../src/clock.js';
import { silentLogger } from '../../src/observe/log.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { IdentityStore } from '../../src/store/identity-store.js';
import type { WorkloadGrants } from '../../src/workload-api/grants.js';
import type { JwtSvidIssuer } from '../../src/workload-api/jwt-profile.js';
import { startWorkloadApiListeners, type WorkloadApiListeners } from '../../src/workload-api/listeners.js';
import { WorkloadApiServer } from '../../src/workload-api/server.js';
import type { NodePrincipal } from '../../src/xds/principal.js';

export const TD = 'example.org';
export const PARTNER_TD = 'partner.example.net';

export interface Fixture {
  readonly clock: ManualClock;
  readonly ca: CertificateAuthority;
  readonly partnerCa: CertificateAuthority;
  readonly store: IdentityStore;
  readonly svids: SvidManager;
  readonly server: WorkloadApiServer;
  readonly listeners: WorkloadApiListeners;
  readonly dir: string;
  /** uid → SPIFFE IDs; edit it and call server.grantsChanged() to model a reload. */
  readonly grants: Map<number, string[]>;
  socket(uid: number): string;
  sent: number;
  close(): Promise<void>;
}

export async function startFixture(opts: { grants: Record<number, string[]>; uids?: number[]; svidTtlMs?: number; maxStreamsPerCaller?: number; maxCallsPerCaller?: number; noJwt?: boolean; jwtIssuer?: JwtSvidIssuer }): Promise<Fixture> {
  const clock = new ManualClock(Date.now());
  const dir = await mkdtemp(join(tmpdir(), 'tp-wapi-'));
  const ca = CertificateAuthority.open({ trustDomain: TrustDomain.parse(TD), dataDir: join(dir, 'ca'), clock, svidTtlMs: opts.svidTtlMs ?? 3_600_000 });
  const partnerCa = CertificateAuthority.open({ trustDomain: TrustDomain.parse(PARTNER_TD), dataDir: join(dir, 'partner-ca'), clock });
  const store = new IdentityStore(TD);
  const svids = new SvidManager({ ca, store, clock, random: () => 0.5 });
  store.setBundle(partnerCa.bundle());
  const grants = new Map(Object.entries(opts.grants).map(([k, v]) => [Number(k), v]));
  const granted: WorkloadGrants = { identitiesOf: (p: NodePrincipal) => (p.kind === 'uid' ? grants.get(p.uid) ?? [] : []) };
  svids.setIdentities([...new Set([...grants.values()].flat())].map((id) => SpiffeId.parse(id)));
  const f: Fixture = {
    clock,
    ca,
    partnerCa,
    store,
    svids,
    grants,
    dir,
    sent: 0,
    server: undefined as unknown as WorkloadApiServer,
    listeners: undefined as unknown as WorkloadApiListeners,
    socket: (uid) => f.listeners.sockets.find((s) => s.uid === uid)!.path,
    async close() {
      await f.listeners.close();
      svids.close();
      ca.close();
      partnerCa.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  const server = new WorkloadApiServer({ store, grants: granted, logger: silentLogger, onSent: () => f.sent++, ...(opts.maxStreamsPerCaller ? { maxStreamsPerCaller: opts.maxStreamsPerCaller } : {}), ...(opts.maxCallsPerCaller ? { maxCallsPerCaller: opts.maxCallsPerCaller } : {}), ...(opts.noJwt ? {} : { jwt: { issuer: opts.jwtIssuer ?? ca.jwt, clock } }) });
  const listeners = await startWorkloadApiListeners({ path: join(dir, 'run', 'workload.sock'), uids: opts.uids ?? [], server, clock, logger: silentLogger, drainMs: 0 });
  Object.assign(f, { server, listeners });
  return f;
}
