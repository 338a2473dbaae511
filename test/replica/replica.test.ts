// The pieces a replica is made of, each on a real datastore (the embedded files; the PostgreSQL backend keeps the
// same rules by the conformance suite in test/datastore) and a ManualClock.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { ManualClock } from '../../src/clock.js';
import { DatastoreError, EmbeddedDatastore, type Datastore, type MeshRevision } from '../../src/datastore/index.js';
import { DatastoreJoinTokens } from '../../src/replica/datastore-join-tokens.js';
import { MeshFollower } from '../../src/replica/mesh-follower.js';
import { applyMesh, digestOf, rollbackMesh } from '../../src/replica/mesh-revisions.js';
import { SharedBundle } from '../../src/replica/shared-bundle.js';
import { StatusHeartbeat } from '../../src/replica/status-heartbeat.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustplaneError } from '../../src/errors.js';
import { JoinTokenError } from '../../src/xds/node-attest/join-token.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'trustplane-replica-'));
  dirs.push(d);
  return d;
};

const validate = (source: string, name: string): void => {
  if (source.includes('INVALID')) throw new TrustplaneError('MESH_INVALID', `${name}:1:1: not a mesh`);
};

/** A datastore whose change notifications never arrive, as when a LISTEN connection was down. */
function deaf(ds: Datastore): Datastore {
  return new Proxy(ds, {
    get(target, prop, receiver) {
      if (prop === 'watch') return async () => () => {};
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A datastore that fails every call while `down` is set, as PostgreSQL does while stopped. */
function flaky(ds: Datastore): { ds: Datastore; down: { value: boolean } } {
  const down = { value: false };
  const wrapped = new Proxy(ds, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || prop === 'watch' || prop === 'close') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      return async (...args: unknown[]) => {
        if (down.value) throw new DatastoreError('DATASTORE_UNAVAILABLE', 'PostgreSQL at postgres://db: connection refused');
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { ds: wrapped, down };
}

describe('mesh revisions: apply, history, rollback', () => {
  it('stores only a valid description, once; a rollback is a new revision that names the one it restores', async () => {
    const ds = new EmbeddedDatastore(tmp());
    const now = 1_000;
    await assert.rejects(applyMesh(ds, { source: 'INVALID', name: 'mesh.yaml', appliedBy: 'uid 0', now, validate }), /mesh.yaml:1:1: not a mesh/);
    assert.equal(await ds.meshRevision(), undefined);
    const a = await applyMesh(ds, { source: 'a: 1\n', name: 'mesh.yaml', appliedBy: 'uid 0', now, validate });
    const again = await applyMesh(ds, { source: 'a: 1\n', name: 'mesh.yaml', appliedBy: 'uid 0', now, validate });
    const b = await applyMesh(ds, { source: 'b: 2\n', name: 'mesh.yaml', appliedBy: 'uid 0', now, validate });
    assert.deepEqual([a.revision.revision, again.created, b.revision.revision], [1, false, 2]);
    const back = await rollbackMesh(ds, 1, { appliedBy: 'uid 0', now, validate });
    assert.deepEqual([back.created, back.revision.revision, back.revision.rollbackOf, back.revision.digest], [true, 3, 1, digestOf('a: 1\n')]);
    const twice = await rollbackMesh(ds, 1, { appliedBy: 'uid 0', now, validate });
    assert.deepEqual([twice.created, twice.revision.revision], [false, 3]);
    await assert.rejects(rollbackMesh(ds, 9, { appliedBy: 'uid 0', now, validate }), (e: unknown) => e instanceof DatastoreError && e.code === 'DATASTORE_NOT_FOUND' && /revisions 1\.\.3/.test(e.message));
  });
});

describe('MeshFollower', () => {
  it('takes the latest revision at start and each newer one when told; a revision it cannot serve is refused once and the last good one stays', async () => {
    const dir = tmp();
    const writer = new EmbeddedDatastore(dir);
    const clock = new ManualClock();
    await writer.appendMeshRevision({ source: 'one', digest: digestOf('one'), appliedBy: 'u', appliedAt: 0 });
    const served: number[] = [];
    const errors: string[] = [];
    let serveCalls = 0;
    const f = new MeshFollower({
      datastore: new EmbeddedDatastore(dir),
      clock,
      pollMs: 1_000,
      onRevision: (r: MeshRevision) => {
        serveCalls++;
        if (r.source === 'bad') throw new Error('bundle file missing on this replica');
        served.push(r.revision);
      },
      onError: (m) => errors.push(m),
    });
    await f.start();
    assert.deepEqual([served, f.revision], [[1], 1]);
    await writer.appendMeshRevision({ source: 'two', digest: digestOf('two'), appliedBy: 'u', appliedAt: 1 });
    await f.check(); // the notification's look, awaited
    assert.deepEqual(served, [1, 2]);
    await writer.appendMeshRevision({ source: 'bad', digest: digestOf('bad'), appliedBy: 'u', appliedAt: 2 });
    await f.check();
    assert.equal(f.revision, 2);
    assert.match(errors[0] ?? '', /revision 3 cannot be served here: bundle file missing on this replica; revision 2 keeps serving/);
    const calls = serveCalls;
    clock.advance(1_000);
    await f.check();
    assert.equal(serveCalls, calls, 'a refused revision is not retried on every poll');
    f.close();
  });

  it('a lost notification is made good by the poll', async () => {
    const dir = tmp();
    const writer = new EmbeddedDatastore(dir);
    const clock = new ManualClock();
    const served: number[] = [];
    let waiter: ((n: number) => void) | undefined;
    const next = (): Promise<number> => new Promise<number>((ok) => (waiter = ok));
    const f = new MeshFollower({
      datastore: deaf(new EmbeddedDatastore(dir)),
      clock,
      pollMs: 5_000,
      onRevision: (r) => {
        served.push(r.revision);
        waiter?.(r.revision);
      },
      onError: () => {},
    });
    await f.start();
    await writer.appendMeshRevision({ source: 'one', digest: digestOf('one'), appliedBy: 'u', appliedAt: 0 });
    clock.advance(4_999);
    await new Promise<void>((ok) => setImmediate(ok));
    assert.deepEqual(served, [], 'not before the poll');
    const first = next();
    clock.advance(1);
    assert.equal(await first, 1);
    await writer.appendMeshRevision({ source: 'two', digest: digestOf('two'), appliedBy: 'u', appliedAt: 1 });
    await new Promise<void>((ok) => setImmediate(ok)); // the poll re-arms once its look has finished
    const second = next();
    clock.advance(5_000);
    assert.equal(await second, 2);
    f.close();
  });

  it('keeps serving when the datastore cannot be read, and says so', async () => {
    const { ds, down } = flaky(new EmbeddedDatastore(tmp()));
    await ds.appendMeshRevision({ source: 'one', digest: digestOf('one'), appliedBy: 'u', appliedAt: 0 });
    const errors: string[] = [];
    const f = new MeshFollower({ datastore: ds, clock: new ManualClock(), onRevision: () => {}, onError: (m) => errors.push(m) });
    await f.start();
    down.value = true;
    await f.check();
    assert.equal(f.revision, 1);
    assert.match(errors.at(-1) ?? '', /mesh revisions cannot be read: PostgreSQL at postgres:\/\/db: connection refused; the last good revision keeps serving/);
    f.close();
  });
});

describe('DatastoreJoinTokens', () => {
  it('a token made on one replica works on another, once, and expires', async () => {
    const dir = tmp();
    const clock = new ManualClock();
    const r1 = new DatastoreJoinTokens(new EmbeddedDatastore(dir), clock);
    const r2 = new DatastoreJoinTokens(new EmbeddedDatastore(dir), clock);
    const t = await r1.create('edge-1', 60_000);
    const tries = await Promise.allSettled([r1.consume(t.token), r2.consume(t.token), r2.consume(t.token)]);
    assert.deepEqual(tries.filter((x) => x.status === 'fulfilled').map((x) => (x as PromiseFulfilledResult<{ node: string }>).value), [{ node: 'edge-1' }]);
    assert.ok(tries.filter((x) => x.status === 'rejected').every((x) => (x as PromiseRejectedResult).reason instanceof JoinTokenError && (x as PromiseRejectedResult).reason.code === 'JOIN_TOKEN_USED'));
    const late = await r2.create('edge-2', 1_000);
    clock.advance(1_000);
    await assert.rejects(r1.consume(late.token), (e: unknown) => e instanceof JoinTokenError && e.code === 'JOIN_TOKEN_EXPIRED');
    await assert.rejects(r1.consume(`tpjt_${'A'.repeat(43)}`), (e: unknown) => e instanceof JoinTokenError && e.code === 'JOIN_TOKEN_UNKNOWN');
    await assert.rejects(r1.consume('nope'), (e: unknown) => e instanceof JoinTokenError && e.code === 'JOIN_TOKEN_MALFORMED');
  });
});

describe('StatusHeartbeat', () => {
  it("every replica's streams are in the global view until that replica stops beating; a failing datastore is reported", async () => {
    const dir = tmp();
    const clock = new ManualClock();
    const shared = new EmbeddedDatastore(dir);
    const { ds, down } = flaky(shared);
    const health: boolean[] = [];
    const errors: string[] = [];
    const r1 = new StatusHeartbeat({ datastore: ds, clock, replica: 'r1', streams: () => [{ streamId: 'a', doc: { nodeId: 'envoy-a' } }], intervalMs: 2_000, onError: (m) => errors.push(m), onHealth: (ok) => health.push(ok) });
    const r2 = new StatusHeartbeat({ datastore: shared, clock, replica: 'r2', streams: () => [{ streamId: 'b', doc: { nodeId: 'envoy-b' } }], intervalMs: 2_000, onError: () => {} });
    await r1.start();
    await r2.start();
    assert.deepEqual((await shared.proxies(clock.now(), 7_000)).map((p) => [p.replica, p.doc['nodeId']]), [
      ['r1', 'envoy-a'],
      ['r2', 'envoy-b'],
    ]);
    r2.close(); // r2 dies
    down.value = true;
    await r1.beat();
    assert.deepEqual(health, [true, false]);
    assert.match(errors[0] ?? '', /proxy status heartbeat failed: .*connection refused; retrying/);
    down.value = false;
    clock.advance(7_000);
    await r1.beat();
    assert.deepEqual(health, [true, false, true]);
    assert.deepEqual((await shared.proxies(clock.now(), 7_000)).map((p) => p.replica), ['r1']);
    r1.close();
  });
});

describe('SharedBundle', () => {
  it('each replica signs with its own CA and serves the union; a rotation reaches the other replica; an expired authority leaves', async () => {
    const td = TrustDomain.parse('prod.example.com');
    const clock = new ManualClock(Date.UTC(2026, 11, 1));
    const store = tmp();
    const caA = CertificateAuthority.open({ trustDomain: td, dataDir: tmp(), clock, caTtlMs: 10_800_000 });
    const caB = CertificateAuthority.open({ trustDomain: td, dataDir: tmp(), clock, caTtlMs: 10_800_000 });
    const source = (ca: CertificateAuthority) => ({ bundle: () => ca.bundle(), onBundleChange: (l: (b: ReturnType<CertificateAuthority['bundle']>) => void) => ca.onBundleChange(l), status: () => ca.status(), jwtStatus: () => ca.jwt.status() });
    const a = new SharedBundle({ local: source(caA), datastore: new EmbeddedDatastore(store), clock, replica: 'a', onError: () => {} });
    const b = new SharedBundle({ local: source(caB), datastore: new EmbeddedDatastore(store), clock, replica: 'b', onError: () => {} });
    await a.start();
    await b.start();
    await a.refresh();
    const serials = (s: SharedBundle): string[] => s.bundle().x509Authorities.map((c) => c.serialNumber).sort();
    const all = [...caA.bundle().x509Authorities, ...caB.bundle().x509Authorities].map((c) => c.serialNumber).sort();
    assert.deepEqual(serials(a), all);
    assert.deepEqual(serials(b), all);
    // JWT-SVID keys are shared the same way (public JWKs only): a token signed at a verifies with b's bundle.
    const kids = (s: SharedBundle): string[] => s.bundle().jwtAuthorities.map((j) => j.keyId).sort();
    const allKids = [...caA.bundle().jwtAuthorities, ...caB.bundle().jwtAuthorities].map((j) => j.keyId).sort();
    assert.ok(allKids.length >= 2);
    assert.deepEqual(kids(a), allKids);
    assert.deepEqual(kids(b), allKids);
    const jwt = await caA.jwt.mint(SpiffeId.parse('spiffe://prod.example.com/web'), ['orders']);
    const kidOf = JSON.parse(Buffer.from(jwt.token.split('.')[0]!, 'base64url').toString()).kid as string;
    assert.ok(b.bundle().findJwtAuthority(kidOf), "replica b's bundle holds the key that signed a's token");
    const seen: number[] = [];
    b.onBundleChange((bundle) => seen.push(bundle.x509Authorities.length));
    caA.rotateNow();
    await new Promise<void>((ok) => setImmediate(ok));
    await b.refresh();
    assert.ok(caA.bundle().x509Authorities.every((c) => serials(b).includes(c.serialNumber)), 'the new authority of replica a is in replica b\'s bundle');
    assert.ok(seen.length >= 1);
    // Replica a dies; once its certificates have expired, they leave the shared bundle.
    a.close();
    caA.close();
    clock.advance(10_800_000 * 3);
    await b.refresh();
    assert.ok(caA.bundle().x509Authorities.every((c) => !serials(b).includes(c.serialNumber)));
    b.close();
    caB.close();
  });
});
