// The STRICT gate across replicas, on a real PostgreSQL with in-process replicas: access logs reach one replica over
// real mTLS access-log streams from attested proxies, that replica shares its evidence through the datastore, and
// the leader — another replica — holds STRICT for the port until the window says ready. A leader killed while a
// port is held hands over a gate that keeps holding (the dead replica's evidence with it); `force: true` overrides.
// And rollout steps follow ACKs and switches at once: a whole DISABLE → STRICT rollout with the heartbeat timers
// never firing. Time is the harness's ManualClock; the evidence window is 48 s so that it passes in a few beats.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { adminTokenFile } from '../../src/control-plane/admin-access.js';
import type { ControlPlane } from '../../src/control-plane/control-plane.js';
import { loadMeshText } from '../../src/control-plane/mesh-loader.js';
import { PostgresDatastore, type Datastore } from '../../src/datastore/index.js';
import { applyMesh } from '../../src/replica/mesh-revisions.js';
import { decodeState } from '../../src/replica/replicated-rollout.js';
import { spiffeChannelCredentials } from '../../src/xds/node-attest/client.js';
import { sendStream, tcpBatch, type Conn } from '../traffic/als-client.js';
import { startTestPostgres, type TestPostgres } from '../datastore/pg-server.js';
import { attest, eventually, Proxy, ReplicaSet, shopMesh, TD, type NodeCredentials } from './harness.js';

const WINDOW_MS = 48_000;
const traffic = { windowMs: WINDOW_MS };
const WEB_ID = `spiffe://${TD}/ns/shop/sa/web`;
const PLAINTEXT: Conn = { service: 'orders', port: 15006, chain: 'plaintext', from: '10.1.2.3' };
const MTLS: Conn = { service: 'orders', port: 15006, chain: 'mtls', from: '10.0.0.5', spiffeId: WEB_ID };

let pgServer: TestPostgres;
before(async () => {
  pgServer = await startTestPostgres();
});
after(async () => {
  await pgServer.close();
});

const apply = (ds: Datastore, source: string, now: number) => applyMesh(ds, { source, name: 'mesh.yaml', appliedBy: userInfo().username, now, validate: (s, n) => void loadMeshText(s, n) });
const ordersMode = (cp: ControlPlane): string => cp.rolloutStatus().ports.find((p) => p.service === 'orders')!.inForce;

interface PortDoc {
  service: string;
  inForce: string;
  waitingFor: string[];
  strictGate?: { state: string; reason: string; plaintextSources: { source: string }[] };
}
/** The orders port of /rollout, read as the operator. */
async function rolloutOf(cp: ControlPlane): Promise<PortDoc> {
  const token = readFileSync(adminTokenFile(cp.config.dataDir), 'utf8').trim();
  const doc = (await (await fetch(`http://${cp.adminAddress}/rollout`, { headers: { authorization: `Bearer ${token}` } })).json()) as { ports: PortDoc[] };
  return doc.ports.find((p) => p.service === 'orders')!;
}

/** `trustplane strict-check --service orders` as a replica answers it (the CLI renders this document). */
async function strictCheckOf(cp: ControlPlane): Promise<{ ports: { port: number; plaintextSources: { source: string }[]; breaks: boolean }[] }> {
  const token = readFileSync(adminTokenFile(cp.config.dataDir), 'utf8').trim();
  return (await (await fetch(`http://${cp.adminAddress}/strict-check/orders`, { headers: { authorization: `Bearer ${token}` } })).json()) as never;
}

/** What `node`'s proxy at `cp` logs: connections to orders over one access-log stream (mTLS with its node SVID). */
async function accessLogs(cp: ControlPlane, creds: NodeCredentials, conns: readonly Conn[]): Promise<void> {
  const client = new grpc.Client(cp.tcpAddress!, spiffeChannelCredentials({ bundlePem: creds.bundlePem, serverSpiffeId: cp.serverSpiffeId, certChainPem: creds.certChainPem, privateKeyPem: creds.privateKeyPem }));
  try {
    const r = await sendStream(client, [tcpBatch(conns, { nodeId: creds.node, cluster: 'orders' })]);
    assert.equal(r.code, grpc.status.OK, r.details);
  } finally {
    client.close();
  }
}

async function replicas(n: number, o: { minBeatGapMs?: number } = {}): Promise<{ set: ReplicaSet; ds: Datastore; url: string }> {
  const url = await pgServer.newDatabase();
  const set = new ReplicaSet(url, shopMesh('PERMISSIVE'));
  for (let i = 1; i <= n; i++) await set.add(`r${i}`, { traffic, ...o });
  await eventually('every bundle to hold every authority', () => set.cps.every((cp) => cp.store.getBundle(TD)!.x509Authorities.length === n));
  await set.beat();
  return { set, ds: await PostgresDatastore.open({ url }), url };
}

/** Time passing as the heartbeat timer would see it: one beat of every replica per 2 s. */
async function pass(set: ReplicaSet, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 2_000) {
    set.clock.advance(2_000);
    await set.beat();
  }
}

async function served(set: ReplicaSet, revision: number): Promise<void> {
  await eventually(`every replica to serve revision ${revision}`, () => set.live.every((cp) => cp.served!.revision === revision));
  await set.beat();
  await set.converged();
}

const strictDecisions = async (ds: Datastore, revision: number): Promise<number> =>
  (await ds.rolloutDecisions(revision)).filter((d) => decodeState(d.decision).ports.get('orders:15006')?.mode === 'STRICT').length;

describe('the STRICT gate across replicas', () => {
  it("plaintext seen only by replica B's proxies holds STRICT although A leads; once the window says ready, STRICT proceeds", async () => {
    const { set, ds } = await replicas(2);
    const [r1, r2] = set.cps as [ControlPlane, ControlPlane];
    try {
      assert.equal(r1.replica!.leader, true);
      const orders2 = await attest(set, r2, 'orders-2');
      await accessLogs(r2, orders2, [PLAINTEXT, MTLS]);
      await eventually('r2 to count the plaintext', () => r2.traffic.evidence.port('orders', 15006)?.window.plaintext === 1);
      await set.beat(); // r2 shares its evidence; r1, beating last, reads it

      await apply(ds, shopMesh('STRICT'), set.clock.now());
      await served(set, 2);
      await pass(set, 4_000);
      assert.equal(r1.traffic.evidence.port('orders', 15006)!.window.plaintext, 0, "the leader's own proxies saw no plaintext");
      for (const cp of set.cps) {
        assert.equal(ordersMode(cp), 'PERMISSIVE', `${cp.replica!.id}: held`);
        const p = await rolloutOf(cp);
        assert.equal(p.strictGate?.state, 'held', `${cp.replica!.id} shows the leader's hold`);
        assert.match(p.waitingFor[0]!, /^held at PERMISSIVE by the STRICT gate: plaintext in the last 48 s from 10\.1\.2\.3/);
        // strict-check on any replica names the plaintext source, though only r2's proxies saw it.
        const check = await strictCheckOf(cp);
        assert.deepEqual(check.ports.map((x) => [x.port, x.plaintextSources.map((s) => s.source), x.breaks]), [[15006, ['10.1.2.3'], true]], `${cp.replica!.id}: strict-check`);
      }
      assert.equal(await strictDecisions(ds, 2), 0);

      // The plaintext stops; B keeps seeing mTLS. Half a window later the plaintext is still in it: held.
      await pass(set, 24_000);
      await accessLogs(r2, orders2, [MTLS]);
      await eventually('r2 to count the later mTLS', () => r2.traffic.evidence.port('orders', 15006)?.window.mtls === 2);
      await set.beat();
      for (const cp of set.cps) assert.equal(ordersMode(cp), 'PERMISSIVE', `${cp.replica!.id}: still held with the plaintext in the window`);

      // Past the window: ready, and the leader lets the rollout take STRICT (no proxy to wait for here).
      await pass(set, 26_000);
      await set.converged();
      for (const cp of set.cps) {
        assert.equal(ordersMode(cp), 'STRICT', `${cp.replica!.id}: STRICT once ready`);
        const p = await rolloutOf(cp);
        assert.equal(p.strictGate?.state, 'allowed');
        assert.match(p.strictGate!.reason, /^1 mTLS and no plaintext connections in the last 48 s$/);
      }
    } finally {
      await ds.close();
      await set.close();
    }
  });

  it('a leader killed while a port is held: the next leader keeps holding on the dead replica\'s evidence; force: true overrides', async () => {
    const { set, ds } = await replicas(3);
    const [r1, r2, r3] = set.cps as [ControlPlane, ControlPlane, ControlPlane];
    try {
      // The plaintext is seen by the leader's own proxies only.
      await accessLogs(r1, await attest(set, r1, 'orders-1'), [PLAINTEXT, MTLS]);
      await eventually('r1 to count the plaintext', () => r1.traffic.evidence.port('orders', 15006)?.window.plaintext === 1);
      await set.beat();
      await apply(ds, shopMesh('STRICT'), set.clock.now());
      await served(set, 2);
      for (const cp of set.cps) assert.equal((await rolloutOf(cp)).strictGate?.state, 'held');

      await set.stop(r1, { crash: true });
      // Past the heartbeat timeout, the lease's expiry and the new leader's grace.
      await pass(set, 20_000);
      assert.ok(r2.replica!.leader || r3.replica!.leader, 'another replica leads');
      for (const cp of [r2, r3]) {
        assert.equal(cp.traffic.evidence.port('orders', 15006)!.window.plaintext, 0, `${cp.replica!.id} itself saw no plaintext`);
        assert.equal(ordersMode(cp), 'PERMISSIVE', `${cp.replica!.id}: still held after the handover`);
        const p = await rolloutOf(cp);
        assert.equal(p.strictGate?.state, 'held');
        assert.deepEqual(p.strictGate!.plaintextSources.map((s) => s.source), ['10.1.2.3'], "the dead replica's evidence still counts");
      }
      assert.equal(await strictDecisions(ds, 2), 0, 'no STRICT decision from the new leader');

      await apply(ds, shopMesh('STRICT', 'http', { force: true }), set.clock.now());
      await served(set, 3);
      await pass(set, 2_000);
      await set.converged();
      for (const cp of [r2, r3]) {
        assert.equal(ordersMode(cp), 'STRICT', `${cp.replica!.id}: forced`);
        const p = await rolloutOf(cp);
        assert.equal(p.strictGate?.state, 'forced');
        assert.match(p.strictGate!.reason, /^STRICT forced \(force: true\) over the STRICT gate: plaintext in the last 48 s from 10\.1\.2\.3/);
      }
    } finally {
      await ds.close();
      await set.close();
    }
  });

  it('steps follow ACKs and switches at once: DISABLE → STRICT across replicas with no heartbeat timer firing', async () => {
    const url = await pgServer.newDatabase();
    const set = new ReplicaSet(url, shopMesh('DISABLE'));
    const proxies: Proxy[] = [];
    const ds = await PostgresDatastore.open({ url });
    try {
      for (const id of ['r1', 'r2']) await set.add(id, { traffic, minBeatGapMs: 0 });
      await eventually('every bundle to hold both authorities', () => set.cps.every((cp) => cp.store.getBundle(TD)!.x509Authorities.length === 2));
      await set.beat();
      for (const [i, cp] of set.cps.entries()) {
        proxies.push(new Proxy(await attest(set, cp, `web-${i + 1}`), 'web', cp));
        proxies.push(new Proxy(await attest(set, cp, `orders-${i + 1}`), 'orders', cp));
      }
      const start = set.clock.now();
      await apply(ds, shopMesh('STRICT', 'http', { force: true }), start);
      // Nothing but events from here: the clock stands still, so no heartbeat timer and no poll fires.
      await eventually('STRICT on every replica', () => set.cps.every((cp) => cp.served?.revision === 2 && ordersMode(cp) === 'STRICT'), 30_000);
      assert.equal(set.clock.now(), start);
      const modes = (await ds.rolloutDecisions(2)).map((d) => {
        const s = decodeState(d.decision);
        return `${s.ports.get('orders:15006')!.mode}/${[...s.edges].find(([k]) => k.startsWith('web'))![1].transport}`;
      });
      assert.deepEqual(modes, ['PERMISSIVE/plaintext', 'PERMISSIVE/mtls', 'STRICT/mtls'], 'every step, in order, none repeated');
    } finally {
      for (const p of proxies) p.close();
      await ds.close();
      await set.close();
    }
  });
});
