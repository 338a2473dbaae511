// Three `serve --datastore` replicas (in process) on one real PostgreSQL with real TLS xDS proxies spread over them:
// applies reach every proxy, every replica serves the same bytes and versions, STRICT waits for every ACK on every
// replica and survives a change of leader, join tokens are spent once across replicas, and a PostgreSQL outage
// leaves everything serving (degraded) and resumes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { userInfo } from 'node:os';
import { loadMeshText } from '../../src/control-plane/mesh-loader.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { adminTokenFile } from '../../src/control-plane/admin-access.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresDatastore, type Datastore } from '../../src/datastore/index.js';
import { applyMesh } from '../../src/replica/mesh-revisions.js';
import { decodeState } from '../../src/replica/replicated-rollout.js';
import { TYPE_CLUSTER, TYPE_LISTENER } from '../../src/xds/type-urls.js';
import { startTestPostgres, type TestPostgres } from '../datastore/pg-server.js';
import { attest, eventually, Proxy, ReplicaSet, servedResources, shopMesh } from './harness.js';
import { NodeAttestationClient, spiffeChannelCredentials } from '../../src/xds/node-attest/client.js';
import { generateNodeKey } from '../xds/transport/fixture-ca.js';
import { DatastoreJoinTokens } from '../../src/replica/datastore-join-tokens.js';
import { ManualClock } from '../../src/clock.js';
import { cli } from '../cli/run.js';

let pgServer: TestPostgres;
before(async () => {
  pgServer = await startTestPostgres();
});
after(async () => {
  await pgServer.close();
});

const validate = (source: string, name: string): void => void loadMeshText(source, name);
const apply = (ds: Datastore, source: string, now: number) => applyMesh(ds, { source, name: 'mesh.yaml', appliedBy: userInfo().username, now, validate });

const ordersMode = (cp: ControlPlane): string => cp.rolloutStatus().ports.find((p) => p.service === 'orders')!.inForce;

/** Three replicas r1..r3 with a web and an orders proxy on each; each proxy attested at the next replica. */
async function threeReplicas(mesh: string): Promise<{ set: ReplicaSet; ds: Datastore; proxies: Proxy[] }> {
  const url = await pgServer.newDatabase();
  const set = new ReplicaSet(url, mesh);
  for (const id of ['r1', 'r2', 'r3']) await set.add(id);
  // Each replica's CA is in every replica's bundle (published at start, heard through NOTIFY).
  await eventually('every bundle to hold the three authorities', () => set.cps.every((cp) => cp.store.getBundle('example.org')!.x509Authorities.length === 3));
  await set.beat();
  const proxies: Proxy[] = [];
  for (const [i, cp] of set.cps.entries()) {
    const attestAt = set.cps[(i + 1) % 3]!;
    proxies.push(new Proxy(await attest(set, attestAt, `web-${i + 1}`), 'web', cp));
    proxies.push(new Proxy(await attest(set, attestAt, `orders-${i + 1}`), 'orders', cp));
  }
  await settled(set, proxies);
  return { set, ds: await PostgresDatastore.open({ url }), proxies };
}

/** Every proxy got listeners and clusters and each replica saw every ACK (except types the proxy holds back). */
async function settled(set: ReplicaSet, proxies: readonly Proxy[], held: readonly { proxy: Proxy; typeUrl: string }[] = []): Promise<void> {
  await eventually('every proxy to ACK what its replica serves', () =>
    proxies.every((p) => {
      if (p.ended) return true;
      const mine = (p.replica as ControlPlane).xds.status().proxies.find((s) => s.nodeId === p.creds.node && s.service === 'ads');
      return (
        mine !== undefined &&
        [TYPE_LISTENER, TYPE_CLUSTER].every((t) => {
          const ts = mine.types.find((x) => x.typeUrl === t);
          const cp = p.replica as ControlPlane;
          const want = cp.resources.names(p.service, t).map((n) => cp.resources.get(p.service, t, n)!.version).join(',');
          const got = ts?.resources.map((r) => r.version).join(',');
          return got === want && (held.some((h) => h.proxy === p && h.typeUrl === t) || ts?.state === 'SYNCED');
        })
      );
    }),
  );
  void set;
}


describe('replicas on PostgreSQL', () => {
  it('an apply reaches every proxy on every replica; the same revision is byte-identical with identical versions everywhere', async () => {
    const { set, ds, proxies } = await threeReplicas(shopMesh('PERMISSIVE'));
    try {
      const first = servedResources(set.cps[0]!);
      assert.ok(first.size >= 4);
      for (const cp of set.cps.slice(1)) assert.deepEqual(servedResources(cp), first, `${cp.replica!.id} serves what r1 serves`);
      const counts = (p: Proxy): number[] => [TYPE_LISTENER, TYPE_CLUSTER].map((t) => p.received.get(t)?.length ?? 0);
      const before = new Map(proxies.map((p) => [p, counts(p)]));

      const r = await apply(ds, shopMesh('PERMISSIVE', 'tcp'), set.clock.now());
      assert.equal(r.revision.revision, 2);
      const served = await eventuallyServed(set, 2);
      assert.equal(served.revision, 2);
      await settled(set, proxies);
      const second = servedResources(set.cps[0]!);
      assert.notDeepEqual(second, first);
      for (const cp of set.cps.slice(1)) assert.deepEqual(servedResources(cp), second, `${cp.replica!.id} serves revision 2 as r1 does`);
      for (const p of proxies) {
        const [lds0, cds0] = before.get(p)!;
        const [lds1, cds1] = counts(p);
        // One apply, at most one push per type: no back and forth while replicas switch.
        assert.ok(lds1! - lds0! <= 1 && cds1! - cds0! <= 1, `${p.creds.node}: ${lds1! - lds0!} listener and ${cds1! - cds0!} cluster pushes`);
        assert.equal(lds1! - lds0!, 1, `${p.creds.node} got the new listeners`);
        assert.equal(cds1! - cds0!, 0, `${p.creds.node}: clusters did not change, nothing pushed`);
      }
      // /status on any replica shows every proxy and its replica.
      type Status = { replica: string; proxies: { nodeId: string; replica: string }[]; replicas: { replica: string }[] };
      // Two rounds: each replica's second read of the view follows every replica's first write.
      await set.beat();
      await set.beat();
      const again = (await (await fetch(`http://${set.cps[1]!.adminAddress}/status`, { headers: { authorization: `Bearer ${readFileSync(adminTokenFile(set.cps[1]!.config.dataDir), 'utf8').trim()}` } })).json()) as Status;
      assert.equal(again.replica, 'r2');
      assert.deepEqual(
        again.proxies.map((p) => `${p.nodeId}@${p.replica}`).sort(),
        ['orders-1@r1', 'orders-2@r2', 'orders-3@r3', 'web-1@r1', 'web-2@r2', 'web-3@r3'],
      );
      assert.deepEqual(again.replicas.map((x) => x.replica), ['r1', 'r2', 'r3']);
    } finally {
      for (const p of proxies) p.close();
      await ds.close();
      await set.close();
    }
  });

  it('STRICT comes only after every relevant ACK on every replica, and a dead leader hands the rollout over without repeating or skipping a step', async () => {
    const { set, ds, proxies } = await threeReplicas(shopMesh('DISABLE'));
    const [r1, r2, r3] = set.cps as [ControlPlane, ControlPlane, ControlPlane];
    try {
      assert.equal(r1.replica!.leader, true, 'the first replica recorded the first decision and holds the lease');
      const web3 = proxies.find((p) => p.creds.node === 'web-3')!;
      web3.hold(TYPE_CLUSTER);
      const held = [{ proxy: web3, typeUrl: TYPE_CLUSTER }];

      await apply(ds, shopMesh('STRICT', 'http', { force: true }), set.clock.now());
      await eventuallyServed(set, 2);
      for (const cp of set.cps) assert.equal(ordersMode(cp), 'PERMISSIVE', 'a new revision starts with the step that adds, never the one that removes');
      // Rounds of heartbeats: the orders proxies ACK PERMISSIVE, the web clients go mTLS; web-3 (on r3) never ACKs it.
      for (let round = 0; round < 4; round++) {
        await settled(set, proxies, held);
        await set.beat();
        await set.converged();
        for (const cp of set.cps) assert.notEqual(ordersMode(cp), 'STRICT', `round ${round}: web-3 has not ACKed its mTLS cluster`);
      }
      const waitingFor = r1.rolloutStatus().ports.find((p) => p.service === 'orders')!.waitingFor.join(' ');
      assert.match(waitingFor, /web/);

      // The leader dies: no more heartbeats, no lease renewal, its proxies gone (they reconnect elsewhere).
      await settled(set, proxies, held);
      const onR1 = proxies.filter((p) => p.replica === r1);
      const lastSeen = new Map(onR1.map((p) => [p.creds.node, { lds: p.latest(TYPE_LISTENER)!.versionInfo, cds: p.latest(TYPE_CLUSTER)!.versionInfo }]));
      await set.stop(r1, { crash: true });
      for (const p of onR1) p.close();
      // The others keep beating every 2 s; after the timeout r1 has left the view and its lease has expired.
      for (let t = 0; t < 4; t++) {
        set.clock.advance(2_000);
        await set.beat();
      }
      assert.ok(r2.replica!.leader || r3.replica!.leader, 'another replica took the lease');
      assert.deepEqual(r2.replica!.liveReplicas.map((v) => v.replica), ['r2', 'r3']);
      // They reconnect to r2 saying what they hold, as Envoy does.
      const moved = onR1.map((p) => new Proxy(p.creds, p.service, r2, new Map([[TYPE_LISTENER, lastSeen.get(p.creds.node)!.lds], [TYPE_CLUSTER, lastSeen.get(p.creds.node)!.cds]])));
      const live = [...proxies.filter((p) => p.replica !== r1), ...moved];
      await settled(set, live, held);
      for (const p of moved) {
        // r2 serves the very versions r1 served for the same decision: nothing to push, nothing going back.
        assert.equal(p.received.size, 0, `${p.creds.node}: no push on moving to r2`);
        const mine = r2.xds.status().proxies.find((s) => s.nodeId === p.creds.node)!;
        assert.deepEqual(mine.types.map((t) => [t.type, t.state]).sort(), [['Cluster', 'SYNCED'], ['Listener', 'SYNCED']]);
      }
      // The new leader waits a grace period (r1's proxies are moving), then still for web-3.
      for (let round = 0; round < 6; round++) {
        set.clock.advance(2_000);
        await set.beat();
        await set.converged();
        await settled(set, live, held);
        for (const cp of set.live) assert.notEqual(ordersMode(cp), 'STRICT', `after the handover, round ${round}: still waiting for web-3`);
      }

      web3.release(TYPE_CLUSTER);
      await settled(set, live);
      await set.beat();
      await set.converged();
      for (const cp of set.live) assert.equal(ordersMode(cp), 'STRICT', 'STRICT once web-3 ACKed');

      // The decisions of revision 2: each one step from the last, none repeated, the last two by the new leader.
      const decisions = await ds.rolloutDecisions(2);
      const modes = decisions.map((d) => {
        const s = decodeState(d.decision);
        return `${[...s.ports].find(([k]) => k.startsWith('orders'))![1].mode}/${[...s.edges].find(([k]) => k.startsWith('web'))![1].transport}`;
      });
      assert.deepEqual(modes, ['PERMISSIVE/plaintext', 'PERMISSIVE/mtls', 'STRICT/mtls']);
      assert.equal(new Set(decisions.map((d) => d.fencingToken)).size, 2, 'two leaders, each with its own fencing token');
      assert.ok(decisions.at(-1)!.fencingToken > decisions[0]!.fencingToken);
      for (const p of moved) p.close();
    } finally {
      for (const p of proxies) p.close();
      await ds.close();
      await set.close();
    }
  });

  it('the same join token presented to two replicas at once buys exactly one node SVID', async () => {
    const url = await pgServer.newDatabase();
    const set = new ReplicaSet(url, shopMesh('PERMISSIVE'));
    try {
      const [a, b] = [await set.add('a'), await set.add('b')];
      await eventually('both bundles to hold both authorities', () => set.cps.every((cp) => cp.store.getBundle('example.org')!.x509Authorities.length === 2));
      for (let i = 0; i < 5; i++) {
        const { token } = await new DatastoreJoinTokens(a.replica!.datastore, set.clock).create(`web-${i}`, 600_000);
        const results = await Promise.allSettled(
          [a, b].map(async (cp) => {
            const c = new NodeAttestationClient(cp.tcpAddress!, spiffeChannelCredentials({ bundlePem: set.bundlePem(), serverSpiffeId: cp.serverSpiffeId }));
            try {
              return await c.attest({ token, publicKeyPem: generateNodeKey().publicKeyPem });
            } finally {
              c.close();
            }
          }),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `token ${i}: exactly one SVID`);
        const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        assert.match(String(refused.reason.message), /JOIN_TOKEN_USED|already used/);
        const recorded = await a.replica!.datastore.nodeSvids(`web-${i}`);
        assert.equal(recorded.length, 1, `token ${i}: one node SVID recorded`);
        const winner = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ spiffeId: string }>).value;
        assert.equal(winner.spiffeId, `spiffe://example.org/trustplane/node/web-${i}`);
      }
    } finally {
      await set.close();
    }
  });

  it('trustplane token create --datastore: a token any replica accepts once; a bad URL says so without its password', async () => {
    const url = await pgServer.newDatabase();
    const made = await cli('token', 'create', '--node', 'edge-1', '--ttl', '5m', '--json', '--datastore', url);
    assert.equal(made.code, 0, made.stderr);
    const { token, node } = JSON.parse(made.stdout) as { token: string; node: string };
    assert.equal(node, 'edge-1');
    const ds = await PostgresDatastore.open({ url });
    try {
      const tokens = new DatastoreJoinTokens(ds, new ManualClock(Date.now()));
      assert.deepEqual(await tokens.consume(token), { node: 'edge-1' });
      await assert.rejects(tokens.consume(token), (e: unknown) => (e as { code?: string }).code === 'JOIN_TOKEN_USED');
    } finally {
      await ds.close();
    }
    const bad = await cli('token', 'create', '--node', 'edge-1', '--datastore', 'mysql://root:hunter2@db/x');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /DATASTORE_URL_INVALID|postgres:\/\//);
    assert.doesNotMatch(bad.stderr, /hunter2/);
    const both = await cli('token', 'create', '--node', 'edge-1', '--datastore', url, '--data-dir', '/nonexistent');
    assert.equal(both.code, 2);
  });

  it('a replica on an empty datastore without --mesh says to apply one first, and leaves nothing behind', async () => {
    const url = await pgServer.newDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'tp-empty-'));
    try {
      await assert.rejects(
        ControlPlane.start(
          { dataDir: join(dir, 'data'), meshFile: join(dir, 'absent.yaml'), unixSocket: '', tcpAddress: '', adminAddress: '', insecure: false, replica: { url, id: 'r1' } },
          { logger: silentLogger, watch: false },
        ),
        (e: unknown) => (e as { code?: string }).code === 'MESH_NO_REVISION' && /trustplane apply --mesh FILE --datastore URL/.test((e as Error).message),
      );
      const ds = await PostgresDatastore.open({ url });
      assert.equal(await ds.meshRevision(), undefined);
      assert.deepEqual(await ds.rolloutDecisions(1), []);
      await ds.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL stopped under load: replicas keep serving their last good state and say degraded; all resumes when it returns', async (t) => {
    if (pgServer.external) {
      t.diagnostic('TRUSTPLANE_TEST_PG_URL: an external server is not stopped by the tests; the outage part runs on the embedded one');
    }
    const { set, ds, proxies } = await threeReplicas(shopMesh('PERMISSIVE'));
    const extra: Proxy[] = [];
    try {
      const before = servedResources(set.cps[0]!);
      await ds.close();
      if (pgServer.external) return;
      await pgServer.stop();
      await set.beat();
      for (const cp of set.cps) {
        const ready = await fetch(`http://${cp.adminAddress}/ready`);
        assert.equal(ready.status, 200, 'still ready: it serves its last good state');
        assert.match(await ready.text(), /^ready \(degraded: datastore unavailable: .+\)/);
      }
      // Under the outage: proxies reconnect and open new streams; each gets the last good state, whole.
      for (const p of proxies.filter((x) => x.replica === set.cps[0])) {
        p.close();
        extra.push(new Proxy(p.creds, p.service, set.cps[1]!));
      }
      const live = [...proxies.filter((x) => x.replica !== set.cps[0]), ...extra];
      await settled(set, live);
      for (const cp of set.cps) assert.deepEqual(servedResources(cp), before);
      // Writes fail clearly meanwhile: one line with a code, no password, no stack; nothing is queued.
      const refused = await cli('apply', '--mesh', set.meshFile, '--datastore', set.url);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /DATASTORE_UNAVAILABLE/);
      assert.doesNotMatch(refused.stderr, new RegExp(new URL(set.url).password));
      assert.doesNotMatch(refused.stderr, /\n\s+at /);

      await pgServer.start();
      await set.beat();
      for (const cp of set.cps) assert.equal(await (await fetch(`http://${cp.adminAddress}/ready`)).text(), 'ready\n');
      const ds2 = await PostgresDatastore.open({ url: set.url });
      try {
        const counts = new Map(live.map((p) => [p, p.received.get(TYPE_LISTENER)?.length ?? 0]));
        await apply(ds2, shopMesh('PERMISSIVE', 'tcp'), set.clock.now());
        // Notifications may have been lost while the LISTEN connection was down: the poll covers that.
        set.clock.advance(5_000);
        await eventually('revision 2 loaded, decided and served everywhere', async () => {
          await set.beat();
          return set.live.every((cp) => cp.served!.revision === 2);
        });
        await settled(set, live);
        for (const p of live.filter((x) => x.service === 'orders')) assert.equal(p.received.get(TYPE_LISTENER)!.length, counts.get(p)! + 1, `${p.creds.node} got revision 2`);
      } finally {
        await ds2.close();
      }
    } finally {
      for (const p of [...proxies, ...extra]) p.close();
      await set.close();
    }
  });
});

async function eventuallyServed(set: ReplicaSet, revision: number): Promise<{ revision: number; decision: number }> {
  await eventually(`every replica to serve revision ${revision}`, () => set.live.every((cp) => cp.served!.revision === revision));
  return set.converged();
}
