// `trustplane serve`, composed: the mesh description says who exists; the embedded CA keeps an SVID fresh for each
// identity in the identity store; the generator turns the mesh into listeners and clusters in the resource cache;
// the xDS server serves both; the transport authenticates callers; the admin endpoint reports on all of it.
import { dirname, join, resolve } from 'node:path';
import { CertificateAuthority } from '../ca/certificate-authority.js';
import type { SvidIssuer } from '../ca/svid-manager.js';
import type { BundleSource } from '../replica/shared-bundle.js';
import { systemClock, type Clock } from '../clock.js';
import { defaultServerSpiffeId, resourceOptions, type ResourceOptions } from '../envoy/index.js';
import { jwksEndpoint } from '../envoy/options.js';
import { jwksHandler } from '../oidc/jwks-handler.js';
import type { MeshModel } from '../mesh/index.js';
import { principalToString } from '../mesh/principal.js';
import { Metrics } from '../observe/metrics.js';
import type { Logger } from '../observe/log.js';
import { SpiffeId } from '../spiffe/id.js';
import { RolloutController } from '../rollout/index.js';
import { IdentityStore } from '../store/identity-store.js';
import { SvidFileWriter } from '../svid-files/writer.js';
import { JoinTokenStore, type JoinTokens } from '../xds/node-attest/join-token-store.js';
import type { NodeSvidIssuer } from '../xds/node-attest/node-svid-issuer.js';
import { joinTokenDir } from '../xds/node-attest/token-command.js';
import { ResourceCache } from '../xds/cache/resource-cache.js';
import { XdsServer } from '../xds/server/server.js';
import { startTransport, type Transport, type UnixListenerConfig } from '../xds/transport/transport.js';
import { AdminNotFound, isLoopback, splitHostPort, startAdminServer, type AdminServer } from './admin-http.js';
import { AdminAccess, adminTokenFile } from './admin-access.js';
import { lockDataDir, prepareDataDir, type DataDirLock } from './data-dir.js';
import { TrustplaneError } from '../errors.js';
import type { ServeConfig } from './config.js';
import { MeshIdentityPolicy, parsePrincipalString } from './identity-policy.js';
import { loadMesh, loadMeshText, MeshLoadError, type LoadedMesh } from './mesh-loader.js';
import { nodeSvidIssuer } from './node-issuer.js';
import { MeshResources } from './resources.js';
import { FileWatch } from './file-watch.js';
import { Dashboard } from '../dashboard/dashboard.js';
import { knownPorts, Traffic } from '../traffic/traffic.js';
import { gatedEvidence } from '../replica/replicated-gate.js';
import { trafficMetrics } from '../traffic/metrics.js';
import { strictCheckHandler } from '../traffic/admin.js';
import { strictCheck, type StrictCheckReport } from '../traffic/strict-check.js';
import { Federation } from '../federation/federation.js';
import { federationDocument } from '../federation/status.js';
import { startBundleEndpoint, type BundleEndpointServer } from '../federation/serve-endpoint.js';
import { issuerString, jwksMaxAgeSeconds, parseIssuer } from '../oidc/discovery.js';
import { OidcDiscoveryServer } from '../oidc/discovery-server.js';
import { CaSource } from '../sources/ca-source.js';
import type { IdentitySource } from '../sources/identity-source.js';
import { WorkloadApiSource } from '../sources/workload-api-source.js';
import { meshWorkloadGrants } from '../workload-api/grants.js';
import { loadRevision, revisionName, startReplica, type ReplicaStart } from '../replica/replica-start.js';
import { globalSnapshot, ReplicaServing } from '../replica/serving.js';
import { recordingNodeSvidIssuer } from '../replica/node-svids.js';
import { sharedJwtKeys } from '../replica/shared-jwt-keys.js';
import type { RolloutState } from '../rollout/index.js';
import { startWorkloadApiListeners, type WorkloadApiListeners } from '../workload-api/listeners.js';
import { WorkloadApiServer } from '../workload-api/server.js';

export interface MeshState {
  readonly file: string;
  /** Whether the last read of the file was valid (false: the last good description keeps serving). */
  readonly valid: boolean;
  readonly loadedAt: string;
  readonly lastAttemptAt: string;
  readonly problems: readonly string[];
  readonly services: number;
}

export interface ReloadResult {
  readonly ok: boolean;
  readonly problems: readonly string[];
}

export class ControlPlane {
  readonly store: IdentityStore;
  readonly resources = new ResourceCache();
  readonly metrics = new Metrics();
  #ca: CertificateAuthority | undefined;
  readonly xds: XdsServer;
  /** Access-log evidence and the STRICT gate (src/traffic). */
  readonly traffic: Traffic;
  readonly serverSpiffeId: string;
  #mesh: LoadedMesh;
  #meshState: MeshState;
  readonly #rollout: RolloutController;
  #statusChangePending = false;
  #svidFiles: SvidFileWriter | undefined;
  readonly #resourceOptions: ResourceOptions;
  readonly #reloadListeners = new Set<(result: ReloadResult) => void>();
  readonly meshResources: MeshResources;
  /** Where SVIDs and bundles come from: the embedded CA, or an existing Workload API (--identity-source). */
  readonly #source: IdentitySource;
  readonly #workloadApi: WorkloadApiServer | undefined;
  #workloadApiListeners: WorkloadApiListeners | undefined;
  #transport: Transport | undefined;
  #admin: AdminServer | undefined;
  #watch: FileWatch | undefined;
  /** With --datastore: this replica, and what it serves (the recorded revision and rollout decision). */
  readonly #replica: ReplicaStart['replica'] | undefined;
  readonly #serving: ReplicaServing | undefined;
  #dashboard: Dashboard | undefined;
  #lock: DataDirLock | undefined;
  #access: AdminAccess | undefined;
  readonly #federation: Federation;
  #bundleEndpoint: BundleEndpointServer | undefined;
  #oidc: OidcDiscoveryServer | undefined;

  private constructor(
    readonly config: ServeConfig,
    readonly clock: Clock,
    readonly logger: Logger,
    mesh: LoadedMesh,
    replica?: ReplicaStart,
    random?: () => number,
  ) {
    this.#replica = replica?.replica;
    this.#mesh = mesh;
    this.#resourceOptions = resourceOptions({
      ...(config.sds ? { sds: config.sds } : {}),
      // requireJwt ports fetch the JWT authorities from the admin endpoint (src/oidc/jwks-handler.ts).
      ...(config.adminAddress || config.jwt?.tokenTtlMs ? { jwks: jwksEndpoint(config.adminAddress || undefined, config.jwt?.tokenTtlMs) } : {}),
    });
    this.meshResources = new MeshResources(this.resources, this.#resourceOptions);
    const now = new Date(clock.now()).toISOString();
    this.#meshState = { file: config.meshFile, valid: true, loadedAt: now, lastAttemptAt: now, problems: [], services: mesh.model.services.length };
    this.metrics.meshValid.set(1);
    const td = mesh.model.trustDomain;
    this.serverSpiffeId = defaultServerSpiffeId(mesh.model);
    this.store = new IdentityStore(td.name);
    this.metrics.observeStore(this.store);
    this.store.subscribe((c) => {
      if (c.bundles.includes(td.name)) this.#setCaExpiry();
    });
    // With an upstream Workload API (SPIRE) as the identity source there is no embedded CA at all.
    this.#ca = config.identitySource?.kind === 'workload-api' ? undefined : CertificateAuthority.open({
      trustDomain: td,
      dataDir: config.dataDir,
      clock,
      logger: logger.child({ component: 'ca' }),
      ...(config.caKeyType ? { keyType: config.caKeyType } : {}),
      ...(config.svidKeyType ? { svidKeyType: config.svidKeyType } : {}),
      ...(config.caTtlMs ? { caTtlMs: config.caTtlMs } : {}),
      ...(config.svidTtlMs ? { svidTtlMs: config.svidTtlMs } : {}),
      ...(config.upstream ? { upstream: config.upstream } : {}),
      jwt: { ...config.jwt, ...(config.oidc ? { issuer: issuerString(parseIssuer(config.oidc.issuer)) } : {}) },
    });
    this.#source =
      config.identitySource?.kind === 'workload-api'
        ? new WorkloadApiSource({ address: config.identitySource.address, store: this.store, clock, logger: logger.child({ component: 'identity-source' }), registry: this.metrics.registry })
        : new CaSource({
            ca: this.ca,
            store: this.store,
            clock,
            logger: logger.child({ component: 'svids' }),
            serverSpiffeId: this.serverSpiffeId,
            // A replica serves the shared bundle: every replica's authorities (each signs with its own).
            ...(replica ? { issuer: sharedIssuer(this.ca, replica.replica.sharedBundle(caBundleSource(this.ca))) } : {}),
            // Expiry series mirror the store (Metrics.observeStore), so they leave with the identity.
            onRenewal: (e) => this.metrics.svidRenewals.inc({ result: e.result }),
          });
    const policy = new MeshIdentityPolicy(() => this.#mesh.model);
    if (config.workloadApiSocket) {
      const jwtIssuer = this.#source.jwtIssuer?.();
      this.#workloadApi = new WorkloadApiServer({ store: this.store, grants: meshWorkloadGrants(() => this.#mesh.model, policy), logger: logger.child({ component: 'workload-api' }), registry: this.metrics.registry, ...(jwtIssuer ? { jwt: { issuer: jwtIssuer, clock } } : {}) });
    }
    this.xds = new XdsServer({
      store: this.store,
      resources: this.resources,
      policy,
      clock,
      logger: logger.child({ component: 'xds' }),
      metrics: this.metrics.xds(),
      ...(config.xdsLimits ? { limits: config.xdsLimits } : {}),
    });
    const tm = trafficMetrics(this.metrics.registry);
    this.traffic = new Traffic({
      clock,
      logger: logger.child({ component: 'traffic' }),
      ...config.traffic,
      hooks: tm.hooks,
      // A proxy reports only the listeners of services its principal may hold.
      mayReport: (principal, service) => {
        const s = this.#mesh.model.serviceByName(service);
        return s !== undefined && (principal.kind === 'insecure' || policy.mayReceive(principal, s.spiffeId.toString()));
      },
    });
    tm.bind(this.traffic);
    // The rollout controller decides which modes are in force; the cache only ever holds its effective model.
    this.#rollout = new RolloutController({
      // A replica counts ACKs over every replica's proxies (not its own streams' feed) and only serves steps its
      // leader recorded.
      status: () => (this.#replica ? globalSnapshot(this.#replica.globalProxies, this.clock.now()) : this.xds.status()),
      ...(replica ? { takesSteps: false } : { feed: this.xds }),
      isProxyOf: (proxy, service) => {
        const principal = parsePrincipalString(proxy.principal);
        return principal !== undefined && policy.mayReadGroup(principal, service);
      },
      // Who is a proxy of which service changes only with the identities of a description, and #apply says when:
      // a reload that keeps them costs no pass over every stream.
      toldOfPolicyChanges: true,
      resources: this.resources,
      onEffectiveChange: (model) => {
        const stats = this.meshResources.apply(model);
        this.metrics.servicesRegenerated.inc(stats.servicesRegenerated);
        this.metrics.resourcesRegenerated.inc(stats.resourcesRegenerated);
      },
    });
    // ACKs arrive inside stream handlers; take rollout steps once per turn of the event loop, outside them.
    this.xds.onStatusChange(() => {
      if (this.#statusChangePending) return;
      this.#statusChangePending = true;
      setImmediate(() => {
        this.#statusChangePending = false;
        try {
          this.#rollout.statusChanged();
        } catch (err) {
          this.logger.error({ err: (err as Error).message }, 'rollout step failed; the previous configuration keeps serving');
        }
      });
    });
    // The STRICT gate hands the rollout the description with unready ports held at PERMISSIVE; when evidence
    // releases one, the rollout gets the new model (and still decides when to take each step).
    this.traffic.onGateChange((model) => {
      // Replicas serve their leader's recorded decisions only; evidence is per replica (see the README's limits).
      if (this.#replica) return;
      try {
        this.#rollout.setDesired(model);
      } catch (err) {
        this.logger.error({ err: (err as Error).message }, 'rollout step after a STRICT gate change failed; the previous configuration keeps serving');
      }
    });
    this.#federation = new Federation({
      dataDir: config.dataDir,
      store: this.store,
      clock,
      logger,
      metrics: this.metrics.federation(),
      ...(random ? { random } : {}),
      ...(config.federation ? { fetch: config.federation } : {}),
    });
    if (replica) {
      this.#meshState = { ...this.#meshState, file: revisionName(replica) };
      this.#serving = new ReplicaServing({
        rollout: this.#rollout,
        load: (rev) => loadRevision(rev, td.name),
        apply: (next, revision, state) => this.#swap(next, revisionName({ revision }), state),
        status: () => this.xds.status(),
        start: replica,
        local: this.traffic.evidence,
        clock,
        ...(config.traffic?.maxSourcesPerPort ? { maxSourcesPerPort: config.traffic.maxSourcesPerPort } : {}),
        statusChanges: (l) => this.xds.onStatusChange(l),
      });
    }
    this.#apply(mesh, replica?.state);
    if (config.svidFiles) {
      this.#svidFiles = new SvidFileWriter({
        store: this.store,
        config: { ...config.svidFiles, selects: (id) => this.#mesh.model.serviceBySpiffeId(id)?.target === 'grpc' },
        logger: logger.child({ component: 'svid-files' }),
      }).start();
    }
  }

  /** Loads the mesh description, opens the CA and starts every listener the config names. */
  static async start(config: ServeConfig, deps: { clock?: Clock; logger: Logger; watch?: boolean; random?: () => number }): Promise<ControlPlane> {
    if (config.tcpAddress) splitHostPort(config.tcpAddress, 'xDS TCP address');
    if (config.adminAddress) splitHostPort(config.adminAddress, 'admin address');
    if (config.oidc) parseIssuer(config.oidc.issuer);
    if (config.oidc && config.identitySource?.kind === 'workload-api') {
      throw new TrustplaneError('OIDC_NEEDS_EMBEDDED_CA', 'OIDC discovery publishes the embedded CA\'s JWT keys: with --identity-source workload-api the upstream issues JWT-SVIDs, so publish its keys (e.g. SPIRE\'s oidc-discovery-provider)');
    }
    if (config.oidc?.address) splitHostPort(config.oidc.address, 'OIDC discovery address');
    // Insecure hands any caller any private key: never on an address other hosts can reach.
    if (config.insecure && config.tcpAddress && !isLoopback(config.tcpAddress)) {
      throw new TrustplaneError('INSECURE_NOT_LOOPBACK', `--insecure serves private keys in plaintext to anyone: it is refused on ${config.tcpAddress}; use a loopback address (127.0.0.1) or drop --insecure`);
    }
    const clock = deps.clock ?? systemClock;
    // Other hosts reaching the admin address see health and metrics (never identities, see admin-access.ts), and can
    // try the operator token: that is a choice made on purpose.
    if (config.adminAddress && !isLoopback(config.adminAddress) && !config.adminRemote) {
      throw new TrustplaneError('ADMIN_NOT_LOOPBACK', `--admin ${config.adminAddress} is reachable from other hosts: they would see /live /ready /metrics and could try the operator token; add --admin-remote to mean it, or use a loopback address (127.0.0.1)`);
    }
    const replica = config.replica ? await startReplica(config.replica, { clock, logger: deps.logger }) : undefined;
    let lock: DataDirLock | undefined;
    let cp: ControlPlane;
    try {
      const mesh = replica?.mesh ?? loadMesh(config.meshFile);
      const socketsInDataDir = [config.unixSocket, config.workloadApiSocket].some((s) => s && resolve(dirname(s)) === resolve(config.dataDir));
      prepareDataDir(config.dataDir, { traversableByOthers: perUidSockets(mesh.model).length > 0 && socketsInDataDir });
      lock = lockDataDir(config.dataDir);
      cp = new ControlPlane(config, clock, deps.logger, mesh, replica, deps.random);
    } catch (err) {
      lock?.release();
      await replica?.replica.close();
      throw err;
    }
    cp.#lock = lock;
    try {
      await cp.#source.started();
      // Authorities published and the first heartbeat written before anything is served.
      if (cp.#replica && cp.#serving) await cp.#replica.start(cp.#serving);
      await cp.#listen();
      if ((deps.watch ?? true) && !cp.#replica) {
        cp.#watch = new FileWatch(config.meshFile, (content) => cp.reload(content), cp.logger.child({ component: 'mesh-watch', file: config.meshFile }));
      }
    } catch (err) {
      await cp.close();
      throw err;
    }
    return cp;
  }

  get mesh(): MeshModel {
    return this.#mesh.model;
  }

  get meshState(): MeshState {
    return this.#meshState;
  }

  get unixSockets(): readonly string[] {
    return this.#transport?.unixSockets ?? [];
  }

  get tcpAddress(): string | undefined {
    return this.#transport?.tcpAddress;
  }

  /** The embedded CA; there is none when the identities come from an upstream Workload API (--identity-source). */
  get ca(): CertificateAuthority {
    if (!this.#ca) throw new TrustplaneError('NO_EMBEDDED_CA', `trustplane takes its identities from the Workload API at ${this.config.identitySource?.kind === 'workload-api' ? this.config.identitySource.address.uri : '?'}: there is no embedded CA`);
    return this.#ca;
  }

  /** Where SVIDs and bundles come from (--identity-source). */
  get identitySource(): IdentitySource {
    return this.#source;
  }

  /** The Workload API sockets: the own uid's first, then one per uid the mesh names (as root). */
  get workloadApiSockets(): readonly { readonly path: string; readonly uid: number }[] {
    return this.#workloadApiListeners?.sockets ?? [];
  }

  get adminAddress(): string | undefined {
    return this.#admin?.address;
  }

  /** A one-time login link for a browser (see admin-access.ts), when the admin address is on. */
  adminLoginUrl(): string | undefined {
    return this.#admin && this.#access ? `http://${this.#admin.address}${this.#access.loginPath()}` : undefined;
  }

  /** The SPIFFE bundle endpoint server (address, profile, what it serves), when it runs. */
  get bundleEndpoint(): BundleEndpointServer | undefined {
    return this.#bundleEndpoint;
  }

  /** Federation relationships with other trust domains (bundle files and endpoints). */
  get federation(): Federation {
    return this.#federation;
  }

  /** The OIDC discovery endpoint, when serving one. */
  get oidcDiscovery(): OidcDiscoveryServer | undefined {
    return this.#oidc;
  }

  /**
   * Reads the mesh description again. A valid one is swapped in whole (identities, policy, resources); a bad one
   * changes nothing that is served, and says why in the log, /mesh and trustplane_mesh_last_reload_valid.
   */
  reload(content?: Buffer): ReloadResult {
    // The watch hands over the bytes it compared: they are the ones parsed, and the file is not read again.
    this.#watch?.taken(content);
    const result = this.#reload(content);
    for (const l of [...this.#reloadListeners]) l(result);
    return result;
  }

  /** Told of every reload, whether a file change or a call started it. */
  onReload(listener: (result: ReloadResult) => void): () => void {
    this.#reloadListeners.add(listener);
    return () => this.#reloadListeners.delete(listener);
  }

  #reload(content: Buffer | undefined): ReloadResult {
    if (this.#replica) return { ok: false, problems: ['this replica serves mesh revisions from the datastore: run `trustplane apply --mesh FILE --datastore URL`'] };
    const at = new Date(this.clock.now()).toISOString();
    let next: LoadedMesh;
    try {
      next = content ? loadMeshText(content.toString('utf8'), this.config.meshFile) : loadMesh(this.config.meshFile);
      if (next.model.trustDomain.name !== this.#mesh.model.trustDomain.name) {
        throw new MeshLoadError('MESH_TRUST_DOMAIN_CHANGED', `${this.config.meshFile}: trustDomain changed from ${this.#mesh.model.trustDomain.name} to ${next.model.trustDomain.name}; a running control plane keeps its trust domain (restart to change it)`, [`trustDomain: changing it needs a restart`]);
      }
      this.#apply(next);
    } catch (err) {
      const problems = err instanceof MeshLoadError ? err.problems : [(err as Error).message];
      this.#meshState = { ...this.#meshState, valid: false, lastAttemptAt: at, problems };
      this.metrics.meshReloads.inc({ result: 'invalid' });
      this.metrics.meshValid.set(0);
      this.logger.error({ file: this.config.meshFile, problems }, 'mesh description rejected; the last good one keeps serving');
      return { ok: false, problems };
    }
    this.#meshState = { file: this.config.meshFile, valid: true, loadedAt: at, lastAttemptAt: at, problems: [], services: next.model.services.length };
    this.#svidFiles?.sync();
    this.metrics.meshReloads.inc({ result: 'ok' });
    this.metrics.meshValid.set(1);
    this.logger.info({ file: this.config.meshFile, services: next.model.services.length }, 'mesh description reloaded');
    return { ok: true, problems: [] };
  }

  /**
   * Whether the control plane holds a valid identity of its own and a bundle to serve with. A replica whose
   * datastore is away stays ready (it serves its last good state) and says it is degraded, and why.
   */
  ready(): { ready: boolean; reason?: string } {
    const source = this.#source.ready();
    if (!source.ready) return source;
    const listener = this.#transport?.problem();
    if (listener) return { ready: false, reason: listener };
    const h = this.#replica?.health();
    return h && !h.ok ? { ready: true, reason: `degraded: ${h.reason}` } : source;
  }

  /** With --datastore: this replica (its id, the global view, leadership); undefined otherwise. */
  get replica(): ReplicaStart['replica'] | undefined {
    return this.#replica;
  }

  /** With --datastore: the mesh revision and rollout decision this replica serves. */
  get served(): { revision: number; decision: number } | undefined {
    return this.#serving?.served();
  }

  async close(): Promise<void> {
    this.#watch?.close();
    this.#dashboard?.close();
    await this.#replica?.close();
    this.traffic.close();
    this.#federation.close();
    await this.#bundleEndpoint?.close();
    await this.#admin?.close();
    await this.#oidc?.close();
    await this.#workloadApiListeners?.close();
    this.#workloadApi?.close();
    if (this.#transport) await this.#transport.close();
    else await this.xds.close();
    this.#svidFiles?.close();
    this.#source.close();
    this.#ca?.close();
    this.#access?.close();
    this.#lock?.release();
  }

  #setCaExpiry(): void {
    const active = this.#ca?.status().find((a) => a.state === 'active');
    if (active) this.metrics.caExpiry.set(active.notAfter.getTime() / 1000);
  }

  /**
   * `trustplane strict-check`: a replica answers from every replica's evidence (a plaintext caller may reach any
   * of them) over the description it serves; a single server from its own.
   */
  #strictCheck(service?: string): StrictCheckReport {
    return this.#serving ? strictCheck(this.#mesh.model, this.#serving.evidence, this.clock.now(), service) : this.traffic.strictCheck(service);
  }

  /** Where each port's rollout stands: asked for, in force, waiting for. */
  rolloutStatus(): ReturnType<Traffic['decorate']> {
    // A replica shows the STRICT gate its leader recorded, over every replica's evidence.
    return this.#serving ? this.#serving.rolloutStatus() : this.traffic.decorate(this.#rollout.rolloutStatus());
  }

  // Generator output first (it may throw on a model it cannot build), then identities and bundles, then policy:
  // everything from one description, or nothing.
  #apply(next: LoadedMesh, imposed?: RolloutState): void {
    if (imposed) {
      this.#rollout.impose(next.model, imposed);
      // A replica's gate is its leader's (src/replica/replicated-gate.ts); its receiver still counts every declared port.
      this.traffic.evidence.setPorts(knownPorts(next.model));
      this.traffic.receiver.policyChanged();
    } else {
      // The gate commits only once the rollout took the description: a refused one leaves it as it was.
      const gated = this.traffic.prepare(next.model);
      this.#rollout.setDesired(gated.model);
      gated.commit();
    }
    const before = this.#mesh.model;
    this.#mesh = next;
    this.store.batch(() => this.#federation.apply(next.model.federation, next.federatedBundles));
    // An edit that leaves every service's name, SPIFFE ID and nodes as they were changes neither the SVIDs to keep
    // nor who may receive them: the identities are not set again and no stream re-reads its secrets (O(services)
    // identity checks instead of O(streams) work on every reload). The first apply (before === next) sets them.
    if (before !== next.model && sameIdentities(before, next.model)) return;
    // trustplane's own server SVID is needed for TCP, for an https_spiffe bundle endpoint (and by the embedded CA's
    // readiness); an agent is asked for it only then.
    const own = this.#source.kind === 'embedded-ca' || this.config.tcpAddress || this.config.bundleEndpoint?.profile === 'https_spiffe' ? [SpiffeId.parse(this.serverSpiffeId)] : [];
    this.#source.setIdentities([...own, ...next.model.services.map((s) => s.spiffeId)]);
    this.xds.policyChanged();
    // With the new policy in force (this.#mesh is the new description now), the rollout counts proxies again.
    this.#rollout.policyChanged();
    this.#workloadApi?.grantsChanged();
  }

  /** A replica's switch to a recorded (revision, decision): the same whole-or-nothing swap as a reload. */
  #swap(next: LoadedMesh, name: string, state: RolloutState): void {
    const at = new Date(this.clock.now()).toISOString();
    this.#apply(next, state);
    this.#meshState = { file: name, valid: true, loadedAt: at, lastAttemptAt: at, problems: [], services: next.model.services.length };
    this.#svidFiles?.sync();
    this.metrics.meshValid.set(1);
  }

  async #listen(): Promise<void> {
    const c = this.config;
    const unix: UnixListenerConfig[] = [];
    // As root, each uid the mesh names gets a socket only it can open: the socket's permissions authenticate it.
    // Those uids must be able to traverse (not list) the directories above their sockets.
    const uids = perUidSockets(this.mesh);
    if (c.unixSocket) {
      const dirMode = uids.length ? 0o711 : 0o700;
      unix.push({ path: c.unixSocket, principal: { kind: 'uid', uid: process.getuid?.() ?? 0 }, mode: 0o600, dirMode, ownDirectory: resolve(dirname(c.unixSocket)) === resolve(c.dataDir) });
      for (const uid of uids) {
        unix.push({ path: join(dirname(c.unixSocket), 'sockets', `uid-${uid}.sock`), principal: { kind: 'uid', uid }, mode: 0o600, uid, dirMode, ownDirectory: true });
      }
    }
    this.#transport = await startTransport({
      store: this.store,
      clock: this.clock,
      log: this.logger.child({ component: 'transport' }),
      register: (server, auth) => {
        this.xds.addTo(server, auth);
        this.traffic.receiver.addTo(server, auth);
      },
      endStreams: () => {
        this.traffic.receiver.close();
        return this.xds.close();
      },
      unix,
      ...(c.tcpAddress
        ? { tcp: { address: c.tcpAddress, serverSpiffeId: this.serverSpiffeId, intermediates: () => this.#source.intermediates(), ...(this.#source.kind === 'embedded-ca' ? { nodeAttestation: this.#nodeAttestation() } : {}) } }
        : {}),
      insecure: c.insecure,
      ...(c.drainMs !== undefined ? { drainMs: c.drainMs } : {}),
      maxReceiveMessageBytes: this.xds.limits.requestBytes,
    });
    if (c.workloadApiSocket && this.#workloadApi) {
      this.#workloadApiListeners = await startWorkloadApiListeners({ path: c.workloadApiSocket, uids, ownDirectory: resolve(dirname(c.workloadApiSocket)) === resolve(c.dataDir), server: this.#workloadApi, clock: this.clock, logger: this.logger.child({ component: 'workload-api' }), ...(c.drainMs !== undefined ? { drainMs: c.drainMs } : {}) });
    }
    if (c.bundleEndpoint) {
      this.#bundleEndpoint = await startBundleEndpoint(c.bundleEndpoint, { dataDir: c.dataDir, store: this.store, serverSpiffeId: this.serverSpiffeId, logger: this.logger });
    }
    if (c.adminAddress) {
      const access = (this.#access = AdminAccess.create(c.dataDir, this.clock));
      this.#dashboard = this.#newDashboard();
      this.#admin = await startAdminServer(c.adminAddress, {
        ready: () => this.ready(),
        metrics: async () => ({ contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() }),
        json: (path) => this.#json(path),
        isOperator: (req) => access.isOperator(req),
        handlers: [access.handler, this.#dashboard.handler, strictCheckHandler((service) => this.#strictCheck(service)), jwksHandler(this.store, this.#resourceOptions.jwks.cacheSeconds)],
      });
    }
    await this.#listenOidc();
  }

  async #listenOidc(): Promise<void> {
    const o = this.config.oidc;
    if (!o?.address) return;
    this.#oidc = await OidcDiscoveryServer.start({
      address: o.address,
      issuer: parseIssuer(o.issuer),
      // A replica publishes every live replica's keys: a token minted by any of them verifies with this /keys.
      keys: this.#replica ? sharedJwtKeys(this.#replica.sharedBundle(caBundleSource(this.ca))) : this.ca.jwt,
      jwksMaxAgeSeconds: jwksMaxAgeSeconds(this.ca.jwt.publishLeadMs),
      ...(o.tls ? { tls: o.tls } : {}),
      behindTlsProxy: o.behindTlsProxy ?? false,
      logger: this.logger.child({ component: 'oidc-discovery' }),
    });
  }

  /** Join tokens and node SVIDs: in the data directory, or for a replica in the datastore (any replica, once). */
  #nodeAttestation(): { tokens: JoinTokens; issuer: NodeSvidIssuer } {
    const r = this.#replica;
    if (!r) return { tokens: new JoinTokenStore(joinTokenDir(this.config.dataDir), this.clock), issuer: nodeSvidIssuer(this.ca) };
    const issuer = nodeSvidIssuer(this.ca, () => this.store.getBundle(this.mesh.trustDomain.name) ?? this.ca.bundle());
    return { tokens: r.joinTokens(), issuer: recordingNodeSvidIssuer(issuer, { datastore: r.datastore, replica: r.id, clock: this.clock }) };
  }

  #newDashboard(): Dashboard {
    return new Dashboard(
      {
        now: () => this.clock.now(),
        trustDomain: this.store.trustDomain,
        rollout: () => this.rolloutStatus(),
        evidence: this.#serving ? gatedEvidence(this.#serving.evidence, () => this.#serving?.gate) : this.traffic,
        proxies: () => this.xds.status(),
        svids: () => this.store.svids(),
        bundles: () => this.store.bundles(),
        changes: [(l) => this.xds.onStatusChange(l), (l) => this.store.subscribe(l), (l) => this.onReload(l), (l) => this.traffic.onGateChange(() => l())],
      },
      { howToSignIn: () => `Open the one-time login link that \`trustplane serve\` printed when it started, or get a new one with \`trustplane admin link --admin ${this.adminAddress ?? this.config.adminAddress} --data-dir ${this.config.dataDir}\` as the user trustplane runs as (it reads the operator token in ${adminTokenFile(this.config.dataDir)}).` },
    );
  }

  #json(path: string): unknown | undefined {
    if (path === '/status') return { ...(this.#replica ? this.#replicaStatus() : this.xds.status()), identitySource: this.#source.status() };
    const proxy = /^\/status\/proxies\/(.+)$/.exec(path);
    if (proxy) {
      let id: string;
      try {
        id = decodeURIComponent(proxy[1]!);
      } catch {
        return new AdminNotFound('no such proxy: the node id in the path is not valid percent-encoding');
      }
      if (this.#replica) {
        const snap = this.#replicaStatus();
        const proxies = snap.proxies.filter((p) => p.nodeId === id);
        return proxies.length ? { ...snap, proxies } : new AdminNotFound(`no such proxy: no connected proxy has node id "${id.slice(0, 256)}"`);
      }
      const snap = this.xds.status((p) => p.nodeId === id);
      return snap.proxies.length ? snap : new AdminNotFound(`no such proxy: no connected proxy has node id "${id.slice(0, 256)}"`);
    }
    if (path === '/mesh') return this.#meshState;
    if (path === '/federation') return federationDocument(this.store.trustDomain, this.#bundleEndpoint, this.#federation);
    if (path === '/rollout') return { ...this.rolloutStatus(), ...(this.#replica ? { replicas: this.#replicaStatus().replicas } : {}) };
    return undefined;
  }

  /** Every live replica's proxies (as of the last heartbeat), which replica each is on, and the replicas. */
  #replicaStatus(): ReturnType<typeof globalSnapshot> & { replica: string; leader: boolean; waitingFor: readonly string[]; replicas: unknown[] } {
    const r = this.#replica!;
    return {
      ...globalSnapshot(r.globalProxies, this.clock.now()),
      replica: r.id,
      leader: r.leader,
      // The leader's gate: replicas not yet serving the latest decision, or the grace after a change.
      waitingFor: r.waitingFor,
      replicas: r.liveReplicas.map((v) => ({ replica: v.replica, heartbeatAt: new Date(v.heartbeatAt).toISOString(), ...v.info })),
    };
  }
}

/** The embedded CA as what a replica publishes: its X.509 authorities and its JWT-SVID keys (public parts only). */
function caBundleSource(ca: CertificateAuthority): BundleSource {
  // A key signs only once the datastore holds it, so every replica can verify its first SVID or token.
  ca.requirePublication();
  ca.jwt.requirePublication();
  return {
    bundle: () => ca.bundle(), onBundleChange: (l) => ca.onBundleChange(l), status: () => ca.status(),
    jwtStatus: () => ca.jwt.status(), jwtPublished: (kids) => ca.jwt.confirmPublished(kids),
    authoritiesPublished: (ids) => ca.confirmPublished(ids),
  };
}

/** The CA's minting with the shared bundle: what SvidManager needs of an issuer, for a replica. */
function sharedIssuer(ca: CertificateAuthority, bundle: BundleSource): SvidIssuer {
  return { mintX509Svid: (id) => ca.mintX509Svid(id), bundle: () => bundle.bundle(), onBundleChange: (l) => bundle.onBundleChange(l) };
}

/** The uids that get sockets of their own: as root, every uid the mesh names (not root's). */
function perUidSockets(mesh: MeshModel): number[] {
  if (process.getuid?.() !== 0) return [];
  return [...new Set(mesh.services.flatMap((s) => s.nodes).flatMap((p) => (p.kind === 'uid' && p.uid !== 0 ? [p.uid] : [])))].sort((a, b) => a - b);
}

/**
 * Whether two descriptions give the same services the same SPIFFE IDs and nodes, in the same order: what the
 * identity policy and the SVIDs to keep are made of (identity-policy.ts). Unchanged services are the same objects
 * after an incremental reload, so this is mostly one comparison per service.
 */
export function sameIdentities(a: MeshModel, b: MeshModel): boolean {
  if (a.services.length !== b.services.length) return false;
  for (let i = 0; i < a.services.length; i++) {
    const x = a.services[i]!;
    const y = b.services[i]!;
    if (x === y) continue;
    if (x.name !== y.name || x.spiffeId.toString() !== y.spiffeId.toString() || x.nodes.length !== y.nodes.length) return false;
    for (let k = 0; k < x.nodes.length; k++) if (principalToString(x.nodes[k]!) !== principalToString(y.nodes[k]!)) return false;
  }
  return true;
}
