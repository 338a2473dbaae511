// Several in-process `serve --datastore` replicas on one real PostgreSQL, and proxies on real TLS xDS streams that
// attested with a join token (so their node SVIDs, signed by one replica's CA, are verified by the others through
// the shared bundle). Heartbeats are driven by the test (Replica.beat) under one ManualClock, so every rollout step
// happens when the test says and the heartbeat timeout passes in an instant.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';
import type { TrafficConfig } from '../../src/traffic/traffic.js';
import { DatastoreJoinTokens } from '../../src/replica/datastore-join-tokens.js';
import { generateNodeKey } from '../xds/transport/fixture-ca.js';
import { NodeAttestationClient, spiffeChannelCredentials } from '../../src/xds/node-attest/client.js';
import { CONFIG_TYPES, TYPE_CLUSTER, TYPE_LISTENER, TYPE_SECRET } from '../../src/xds/type-urls.js';
import type { DiscoveryResponse } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { SecretSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/secret_pb';
import { SPIFFECertValidatorConfigSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/tls_spiffe_validator_config_pb';
import { fromBinary } from '@bufbuild/protobuf';
import { XdsCaller } from '../e2e/xds-calls.js';
import { PATHS, type SotwClient } from '../xds/protocol/client.js';

export const TD = 'example.org';

/**
 * web → orders; `protocol` changes orders' listener (and web's cluster to it), for applies that reach proxies; force:
 * STRICT whatever the traffic evidence says (for tests of ACK ordering, not of the STRICT gate).
 */
export function shopMesh(orders: 'DISABLE' | 'PERMISSIVE' | 'STRICT', protocol: 'http' | 'grpc' | 'tcp' = 'http', o: { force?: boolean } = {}): string {
  const nodes = (s: string): string => `[${[1, 2, 3].map((i) => `node:${s}-${i}`).join(', ')}]`;
  return `trustDomain: ${TD}
defaultMode: PERMISSIVE
services:
  - name: web
    spiffeId: spiffe://${TD}/ns/shop/sa/web
    nodes: ${nodes('web')}
    inbound:
      - port: 15006
        appPort: 8080
        protocol: http
    outbound:
      - service: orders
        listenPort: 15101
    allowedCallers:
      - trustDomain: ${TD}
  - name: orders
    spiffeId: spiffe://${TD}/ns/shop/sa/orders
    nodes: ${nodes('orders')}
    mode: ${orders}${o.force ? '\n    force: true' : ''}
    inbound:
      - port: 15006
        appPort: 8080
        protocol: ${protocol}
    allowedCallers:
      - service: web
`;
}

/** Polls a condition that an event elsewhere (a push, an ACK, a notification) makes true; fails with `what`. */
export async function eventually(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 10));
  }
}

export class ReplicaSet {
  readonly clock = new ManualClock(Date.now());
  readonly cps: ControlPlane[] = [];
  readonly #dirs: string[] = [];
  readonly meshFile: string;

  constructor(readonly url: string, mesh: string) {
    const d = mkdtempSync(join(tmpdir(), 'tp-replicas-'));
    this.#dirs.push(d);
    this.meshFile = join(d, 'mesh.yaml');
    writeFileSync(this.meshFile, mesh);
  }

  /** traffic: the evidence window and bounds; minBeatGapMs: the bound on heartbeats written on news. */
  async add(id: string, o: { traffic?: TrafficConfig; minBeatGapMs?: number } = {}): Promise<ControlPlane> {
    const dir = mkdtempSync(join(tmpdir(), `tp-${id}-`));
    this.#dirs.push(dir);
    const cp = await ControlPlane.start(
      {
        dataDir: join(dir, 'data'),
        meshFile: this.meshFile,
        unixSocket: '',
        tcpAddress: '127.0.0.1:0',
        adminAddress: '127.0.0.1:0',
        insecure: false,
        drainMs: 0,
        // Timers never fire on their own under the ManualClock: the test beats.
        replica: { url: this.url, id, bootstrapMesh: this.meshFile, heartbeatMs: 2_000, heartbeatTimeoutMs: 7_000, meshPollMs: 5_000, ...(o.minBeatGapMs !== undefined ? { minBeatGapMs: o.minBeatGapMs } : {}) },
        ...(o.traffic ? { traffic: o.traffic } : {}),
      },
      { clock: this.clock, logger: silentLogger, watch: false },
    );
    this.cps.push(cp);
    return cp;
  }

  get live(): ControlPlane[] {
    return this.cps.filter((cp) => !this.#closed.has(cp));
  }

  readonly #closed = new Set<ControlPlane>();

  /** crash: the replica stops without giving up the rollout lease (as kill -9 would leave it). */
  async stop(cp: ControlPlane, o: { crash?: boolean } = {}): Promise<void> {
    this.#closed.add(cp);
    if (o.crash) await cp.replica!.close({ releaseLease: false });
    await cp.close();
  }

  /** Every live replica writes a heartbeat and reads the global view; the leader last, so it sees the others' news. */
  async beat(): Promise<void> {
    const live = this.live;
    for (const cp of live.filter((c) => !c.replica!.leader)) await cp.replica!.beat();
    for (const cp of live.filter((c) => c.replica!.leader)) await cp.replica!.beat();
  }

  /** Waits until every live replica serves the same (revision, decision). */
  async converged(): Promise<{ revision: number; decision: number }> {
    await eventually('every replica to serve the same decision', () => {
      const s = this.live.map((cp) => `${cp.served!.revision}/${cp.served!.decision}`);
      return s.every((x) => x === s[0]);
    });
    return this.live[0]!.served!;
  }

  bundlePem(): string {
    const cp = this.live[0]!;
    return cp.store.getBundle(TD)!.toPem();
  }

  async close(): Promise<void> {
    for (const cp of this.live) await cp.close().catch(() => {});
    for (const d of this.#dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** Every listener and cluster a replica serves, as group/type/name → version:bytes. */
export function servedResources(cp: ControlPlane): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of cp.mesh.services) {
    for (const t of CONFIG_TYPES) {
      for (const name of cp.resources.names(s.name, t)) {
        const r = cp.resources.get(s.name, t, name)!;
        out.set(`${s.name} ${t} ${name}`, `${r.version}:${Buffer.from(r.any).toString('base64')}`);
      }
    }
  }
  return out;
}

export interface NodeCredentials {
  readonly node: string;
  readonly certChainPem: string;
  readonly privateKeyPem: string;
  readonly bundlePem: string;
}

/** Attests `node` with a fresh join token at replica `cp` (the token created through the shared datastore). */
export async function attest(set: ReplicaSet, cp: ControlPlane, node: string): Promise<NodeCredentials> {
  const { token } = await new DatastoreJoinTokens(cp.replica!.datastore, set.clock).create(node, 600_000);
  const key = generateNodeKey();
  const client = new NodeAttestationClient(cp.tcpAddress!, spiffeChannelCredentials({ bundlePem: set.bundlePem(), serverSpiffeId: cp.serverSpiffeId }));
  try {
    const r = await client.attest({ token, publicKeyPem: key.publicKeyPem });
    return { node, certChainPem: r.certChainPem, privateKeyPem: key.privateKeyPem, bundlePem: r.bundlePem };
  } finally {
    client.close();
  }
}

/**
 * A proxy: one SotW ADS stream over TLS, subscribed to every listener and cluster of its service; it ACKs each
 * response unless the test holds that type. Keeps every version it received, per type, in order.
 */
/** Where a proxy connects: an in-process ControlPlane, or a `serve` process's address and server ID. */
export interface Target {
  readonly tcpAddress: string | undefined;
  readonly serverSpiffeId: string;
}

export class Proxy {
  readonly #caller: XdsCaller;
  readonly #stream: SotwClient;
  readonly received = new Map<string, DiscoveryResponse[]>();
  readonly #held = new Set<string>();
  readonly #pending = new Map<string, DiscoveryResponse>();
  #secretNames: string[] = [];
  ended = false;

  constructor(
    readonly creds: NodeCredentials,
    readonly service: string,
    readonly replica: Target,
    /** Versions already held, sent on the first request of each type as Envoy does when it reconnects. */
    resume: ReadonlyMap<string, string> = new Map(),
    /** Secrets to subscribe to over the same ADS stream (its SVID by SPIFFE ID, ROOTCA). */
    secrets: readonly string[] = [],
  ) {
    this.#caller = new XdsCaller(replica.tcpAddress!, spiffeChannelCredentials({ bundlePem: creds.bundlePem, serverSpiffeId: replica.serverSpiffeId, certChainPem: creds.certChainPem, privateKeyPem: creds.privateKeyPem }));
    this.#stream = this.#caller.sotw(PATHS.StreamAggregatedResources);
    void this.#stream.status.then(() => (this.ended = true));
    const node = { id: creds.node, cluster: service };
    this.#secretNames = [...secrets];
    for (const t of [TYPE_CLUSTER, TYPE_LISTENER]) this.#stream.send({ node, typeUrl: t, resourceNames: [], versionInfo: resume.get(t) ?? '' });
    if (secrets.length) this.#stream.send({ node, typeUrl: TYPE_SECRET, resourceNames: [...secrets], versionInfo: resume.get(TYPE_SECRET) ?? '' });
    void this.#read();
  }

  async #read(): Promise<void> {
    for (;;) {
      let r: DiscoveryResponse;
      try {
        r = await this.#stream.next();
      } catch {
        return;
      }
      const list = this.received.get(r.typeUrl) ?? [];
      list.push(r);
      this.received.set(r.typeUrl, list);
      if (this.#held.has(r.typeUrl)) this.#pending.set(r.typeUrl, r);
      else this.#stream.ack(r, r.typeUrl === TYPE_SECRET ? this.#secretNames : []);
    }
  }

  hold(typeUrl: string): void {
    this.#held.add(typeUrl);
  }

  release(typeUrl: string): void {
    this.#held.delete(typeUrl);
    const r = this.#pending.get(typeUrl);
    this.#pending.delete(typeUrl);
    if (r) this.#stream.ack(r, r.typeUrl === TYPE_SECRET ? this.#secretNames : []);
  }

  latest(typeUrl: string): DiscoveryResponse | undefined {
    return this.received.get(typeUrl)?.at(-1);
  }

  close(): void {
    this.#stream.cancel();
    this.#caller.close();
  }
}

/** The latest TLS material a proxy holds from SDS: its certificate chain and key, and its trust bundle. */
export function tlsMaterial(p: Proxy): { cert: string; key: string; ca: string } | undefined {
  let cert: string | undefined;
  let key: string | undefined;
  let ca: string | undefined;
  for (const r of p.received.get(TYPE_SECRET) ?? []) {
    for (const any of r.resources) {
      const s = fromBinary(SecretSchema, any.value);
      if (s.type.case === 'tlsCertificate') {
        cert = Buffer.from(inline(s.type.value.certificateChain)).toString();
        key = Buffer.from(inline(s.type.value.privateKey)).toString();
      } else if (s.type.case === 'validationContext') {
        // Envoy's SPIFFE validator form (what a proxy gets by default) or a plain trusted CA.
        const custom = s.type.value.customValidatorConfig?.typedConfig;
        ca = custom
          ? fromBinary(SPIFFECertValidatorConfigSchema, custom.value).trustDomains.map((t) => Buffer.from(inline(t.trustBundle)).toString()).join('')
          : Buffer.from(inline(s.type.value.trustedCa)).toString();
      }
    }
  }
  return cert && key && ca ? { cert, key, ca } : undefined;
}

const inline = (d: { specifier: { case: string | undefined; value?: unknown } } | undefined): Uint8Array => {
  if (d?.specifier.case === 'inlineBytes') return d.specifier.value as Uint8Array;
  if (d?.specifier.case === 'inlineString') return Buffer.from(d.specifier.value as string);
  return new Uint8Array();
};
