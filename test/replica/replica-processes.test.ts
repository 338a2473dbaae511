// Three real `trustplane serve --datastore` processes on a real PostgreSQL, proxies on TLS xDS streams spread over
// them, and a TLS handshake loop between proxies of different replicas using the SVIDs and bundles they got over
// SDS. The leader is killed with SIGKILL in the middle of a DISABLE → STRICT rollout whose last ACK is held back:
// its proxies reconnect elsewhere with no push and no version going back, no handshake fails, another replica takes
// the lease, and STRICT is recorded only after the held ACK arrives.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { adminTokenFile } from '../../src/control-plane/admin-access.js';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { PostgresDatastore, type Datastore } from '../../src/datastore/index.js';
import { DatastoreJoinTokens } from '../../src/replica/datastore-join-tokens.js';
import { applyMesh } from '../../src/replica/mesh-revisions.js';
import { decodeState } from '../../src/replica/replicated-rollout.js';
import { loadMeshText } from '../../src/control-plane/mesh-loader.js';
import { NodeAttestationClient, spiffeChannelCredentials } from '../../src/xds/node-attest/client.js';
import { TYPE_CLUSTER, TYPE_LISTENER, TYPE_SECRET } from '../../src/xds/type-urls.js';
import { startTestPostgres, type TestPostgres } from '../datastore/pg-server.js';
import { eventually, Proxy, shopMesh, TD, tlsMaterial, type NodeCredentials, type Target } from './harness.js';

const BIN = join(process.cwd(), 'bin', 'trustplane.js');
const SERVER_ID = `spiffe://${TD}/trustplane/server`;
const ID = { web: `spiffe://${TD}/ns/shop/sa/web`, orders: `spiffe://${TD}/ns/shop/sa/orders` };

let pgServer: TestPostgres;
before(async () => {
  pgServer = await startTestPostgres();
});
after(async () => {
  await pgServer.close();
});

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

interface ReplicaProcess extends Target {
  readonly id: string;
  readonly proc: ChildProcess;
  readonly admin: string;
  /** Its data directory: the operator token for /status and /rollout is there. */
  readonly dataDir: string;
  readonly tcpAddress: string;
}

async function startServe(url: string, id: string, meshFile: string, dir: string): Promise<ReplicaProcess> {
  const tcpAddress = `127.0.0.1:${await freePort()}`;
  const admin = `127.0.0.1:${await freePort()}`;
  const proc = spawn(process.execPath, [BIN, 'serve', '--datastore', url, '--replica-id', id, '--mesh', meshFile, '--data-dir', join(dir, id), '--uds', '', '--tcp', tcpAddress, '--admin', admin, '--heartbeat', '200ms', '--heartbeat-timeout', '1s'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  await eventually(`replica ${id} to be ready`, async () => {
    if (proc.exitCode !== null) assert.fail(`replica ${id} exited ${proc.exitCode}: ${stderr}`);
    return fetch(`http://${admin}/ready`).then((r) => r.ok, () => false);
  }, 60_000);
  return { id, proc, admin, dataDir: join(dir, id), tcpAddress, serverSpiffeId: SERVER_ID };
}

async function attestAt(ds: Datastore, r: ReplicaProcess, node: string, bundlePem: string): Promise<NodeCredentials> {
  const { token } = await new DatastoreJoinTokens(ds, systemClock).create(node, 600_000);
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const c = new NodeAttestationClient(r.tcpAddress, spiffeChannelCredentials({ bundlePem, serverSpiffeId: SERVER_ID }));
  try {
    const res = await c.attest({ token, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
    return { node, certChainPem: res.certChainPem, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), bundlePem: res.bundlePem };
  } finally {
    c.close();
  }
}

/** One mTLS handshake between two proxies with what each holds from SDS; resolves true when both sides verified. */
async function handshake(client: Proxy, server: Proxy): Promise<boolean> {
  const c = tlsMaterial(client);
  const s = tlsMaterial(server);
  if (!c || !s) return false;
  const srv = tls.createServer({ cert: s.cert, key: s.key, ca: s.ca, requestCert: true, rejectUnauthorized: true }, (sock) => sock.end());
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const port = (srv.address() as { port: number }).port;
  try {
    return await new Promise<boolean>((resolve) => {
      const sock = tls.connect({ host: '127.0.0.1', port, cert: c.cert, key: c.key, ca: c.ca, checkServerIdentity: () => undefined }, () => {
        resolve(sock.authorized);
        sock.destroy();
      });
      sock.on('error', () => resolve(false));
    });
  } finally {
    srv.close();
  }
}

/** The admin pages with identities answer the operator only (the token serve wrote into its data directory). */
const operatorFetch = (r: ReplicaProcess, path: string): Promise<Response> =>
  fetch(`http://${r.admin}${path}`, { headers: { authorization: `Bearer ${readFileSync(adminTokenFile(r.dataDir), 'utf8').trim()}` } });

const rolloutOf = async (r: ReplicaProcess): Promise<{ inForce: string; clients: { inForce: string }[] }> =>
  ((await (await operatorFetch(r, '/rollout')).json()) as { ports: { service: string; inForce: string; clients: { inForce: string }[] }[] }).ports.find((p) => p.service === 'orders')!;

describe('replica processes', () => {
  it('kill -9 of the leader mid-rollout: proxies move with no push and no failed handshake; STRICT only after the last ACK', async () => {
    const url = await pgServer.newDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'tp-replica-procs-'));
    const meshFile = join(dir, 'mesh.yaml');
    writeFileSync(meshFile, shopMesh('DISABLE'));
    const replicas: ReplicaProcess[] = [];
    const proxies: Proxy[] = [];
    const ds = await PostgresDatastore.open({ url });
    let loop: Promise<void> | undefined;
    let stopLoop = false;
    try {
      for (const id of ['r1', 'r2', 'r3']) replicas.push(await startServe(url, id, meshFile, dir));
      const [r1, r2, r3] = replicas as [ReplicaProcess, ReplicaProcess, ReplicaProcess];
      await eventually('three authorities published', async () => (await ds.authorities()).length === 3);
      const anyBundle = (await ds.authorities()).map((a) => a.certificatePem).join('');
      for (const [i, r] of replicas.entries()) {
        for (const svc of ['web', 'orders'] as const) {
          const creds = await attestAt(ds, replicas[(i + 1) % 3]!, `${svc}-${i + 1}`, anyBundle);
          proxies.push(new Proxy(creds, svc, r, new Map(), [ID[svc], 'ROOTCA']));
        }
      }
      const byNode = (n: string): Proxy => proxies.find((p) => p.creds.node === n)!;
      const web3 = byNode('web-3');
      web3.hold(TYPE_CLUSTER);
      // Every proxy holds an SVID and a bundle with all three replicas' authorities.
      await eventually('every proxy to hold its SVID and the shared bundle', () => {
        return proxies.every((p) => (tlsMaterial(p)?.ca.match(/BEGIN CERTIFICATE/g) ?? []).length === 3);
      });

      // A handshake loop across replicas: web-2 (r2) → orders-1 (r1), web-1 (r1) → orders-3 (r3).
      const results: boolean[] = [];
      loop = (async () => {
        while (!stopLoop) {
          results.push(await handshake(byNode('web-2'), byNode('orders-1')));
          results.push(await handshake(byNode('web-1'), byNode('orders-3')));
        }
      })();

      await applyMesh(ds, { source: shopMesh('STRICT', 'http', { force: true }), name: 'mesh.yaml', appliedBy: 'test', now: Date.now(), validate: (s, n) => void loadMeshText(s, n) });
      await eventually('the web clients to be moved to mTLS', async () => (await rolloutOf(r2)).clients[0]?.inForce === 'mtls');
      assert.equal((await rolloutOf(r2)).inForce, 'PERMISSIVE');

      // Kill the leader. Its proxies reconnect to r2 saying what they hold.
      const leader = ((await (await operatorFetch(r1, '/status')).json()) as { leader: boolean }).leader;
      assert.equal(leader, true, 'r1, which started first, leads');
      const onR1 = proxies.filter((p) => p.replica === r1);
      const held = new Map(onR1.map((p) => [p.creds.node, new Map([TYPE_LISTENER, TYPE_CLUSTER, TYPE_SECRET].map((t) => [t, p.latest(t)!.versionInfo] as const))]));
      r1.proc.kill('SIGKILL');
      await eventually('r1 to die', () => r1.proc.exitCode !== null || r1.proc.signalCode !== null);
      await eventually("r1's streams to end", () => onR1.every((p) => p.ended));
      const moved = onR1.map((p) => new Proxy(p.creds, p.service, r2, held.get(p.creds.node)!, [ID[p.service as 'web' | 'orders'], 'ROOTCA']));
      // The dead replica's proxies leave the view; the moved ones appear under r2; another replica leads.
      await eventually('the global view without r1, with the moved proxies on r2', async () => {
        const s = (await (await operatorFetch(r3, '/status')).json()) as { proxies: { nodeId: string; replica: string }[]; replicas: { replica: string; leader: boolean }[] };
        const at = new Map(s.proxies.filter((p) => p.nodeId.endsWith('-1')).map((p) => [p.nodeId, p.replica]));
        return !s.replicas.some((x) => x.replica === 'r1') && at.get('web-1') === 'r2' && at.get('orders-1') === 'r2' && s.replicas.some((x) => x.leader);
      });
      for (const p of moved) {
        for (const t of [TYPE_LISTENER, TYPE_CLUSTER]) assert.equal(p.received.get(t), undefined, `${p.creds.node}: no ${t.split('.').pop()} push after moving (same versions on r2)`);
      }
      // The moved proxies take over in the handshake loop: they hold the same TLS material as before.
      for (const p of moved) {
        const i = proxies.indexOf(onR1.find((x) => x.creds.node === p.creds.node)!);
        p.received.set(TYPE_SECRET, proxies[i]!.received.get(TYPE_SECRET)!);
        proxies[i] = p;
      }
      for (const p of onR1) p.close();
      // Past the heartbeat timeout and the new leader's grace: still no STRICT, web-3 has not ACKed.
      const decisions = async () => (await ds.rolloutDecisions(2)).map((d) => ({ at: d.decidedAt, token: d.fencingToken, s: decodeState(d.decision) }));
      // The new leader past its grace, with every replica on the latest decision: it could step now, and does not.
      await eventually('the new leader to evaluate past its grace', async () => {
        for (const r of [r2, r3]) {
          const s = (await (await operatorFetch(r, '/status')).json()) as { leader: boolean; waitingFor: string[] };
          if (s.leader && s.waitingFor.length === 0) return true;
        }
        return false;
      });
      assert.ok((await decisions()).every((d) => [...d.s.ports].find(([k]) => k.startsWith('orders'))![1].mode !== 'STRICT'), 'no STRICT while web-3 holds its ACK');
      const released = Date.now();
      web3.release(TYPE_CLUSTER);
      await eventually('STRICT everywhere', async () => (await rolloutOf(r2)).inForce === 'STRICT' && (await rolloutOf(r3)).inForce === 'STRICT');
      const all = await decisions();
      const strict = all.find((d) => [...d.s.ports].find(([k]) => k.startsWith('orders'))![1].mode === 'STRICT')!;
      assert.ok(strict.at >= released, 'STRICT was decided after the last ACK');
      assert.ok(strict.token > all[0]!.token, 'by the new leader');
      assert.deepEqual(
        all.map((d) => `${[...d.s.ports].find(([k]) => k.startsWith('orders'))![1].mode}/${[...d.s.edges][0]![1].transport}`),
        ['PERMISSIVE/plaintext', 'PERMISSIVE/mtls', 'STRICT/mtls'],
        'each step once, none skipped',
      );
      stopLoop = true;
      await loop;
      assert.ok(results.length >= 10, `handshakes ran (${results.length})`);
      assert.equal(results.filter((r) => !r).length, 0, `no failed handshake of ${results.length}`);
      for (const p of moved) p.close();
    } finally {
      stopLoop = true;
      await loop?.catch(() => {});
      for (const p of proxies) p.close();
      for (const r of replicas) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGTERM');
      await Promise.all(replicas.map((r) => (r.proc.exitCode !== null || r.proc.signalCode !== null ? undefined : new Promise((ok) => r.proc.once('exit', ok)))));
      await ds.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
