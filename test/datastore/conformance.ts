// One suite, every backend: the rules a datastore must keep, whatever holds the data. Each backend's test file
// calls datastoreConformance with a factory that opens a fresh, empty store (and, for "replicas", a second handle
// on the same store, as another replica would have).
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { DatastoreError, EMBEDDED_STATE_VERSION, LATEST_SCHEMA, type Datastore } from '../../src/datastore/index.js';

export interface ConformanceTarget {
  /** A fresh store and a function that opens another handle on the same store (another replica or process). */
  fresh(): Promise<{ ds: Datastore; another: () => Promise<Datastore> }>;
}

const T0 = Date.UTC(2026, 11, 1);
const digest = (s: string): string => createHash('sha256').update(s).digest('hex');
const token = (i: number): string => digest(`token-${i}`);

export function datastoreConformance(name: string, target: ConformanceTarget): void {
  describe(`datastore conformance: ${name}`, () => {
    const open: Datastore[] = [];
    const fresh = async (): Promise<{ ds: Datastore; another: () => Promise<Datastore> }> => {
      const f = await target.fresh();
      open.push(f.ds);
      return {
        ds: f.ds,
        another: async () => {
          const d = await f.another();
          open.push(d);
          return d;
        },
      };
    };
    after(async () => {
      for (const d of open) await d.close();
    });

    it('is at the latest schema version after open, and opening again changes nothing', async () => {
      const { ds, another } = await fresh();
      // The embedded files have a state version of their own (what replicas say on heartbeats is not kept there).
      const latest = ds.kind === 'embedded' ? EMBEDDED_STATE_VERSION : LATEST_SCHEMA;
      assert.equal(await ds.schemaVersion(), latest);
      const [a, b] = await Promise.all([another(), another()]);
      assert.equal(await a.schemaVersion(), latest);
      assert.equal(await b.schemaVersion(), latest);
    });

    it('spends a join token once: used, unknown, expired and restored tokens are told apart', async () => {
      const { ds } = await fresh();
      await ds.createJoinToken({ hash: token(1), node: 'node-a', createdAt: T0, expiresAt: T0 + 60_000 });
      await ds.createJoinToken({ hash: token(2), node: 'node-b', createdAt: T0, expiresAt: T0 + 1_000 });
      await assert.rejects(ds.createJoinToken({ hash: token(1), node: 'x', createdAt: T0, expiresAt: T0 + 1 }), (e: unknown) => e instanceof DatastoreError && e.code === 'DATASTORE_INPUT_INVALID');
      assert.deepEqual(await ds.consumeJoinToken(token(1), T0 + 10), { ok: true, node: 'node-a' });
      assert.deepEqual(await ds.consumeJoinToken(token(1), T0 + 20), { ok: false, reason: 'used', node: 'node-a' });
      assert.deepEqual(await ds.consumeJoinToken(token(9), T0), { ok: false, reason: 'unknown' });
      assert.deepEqual(await ds.consumeJoinToken(token(2), T0 + 1_000), { ok: false, reason: 'expired', node: 'node-b', expiresAt: T0 + 1_000 });
      await ds.restoreJoinToken(token(1));
      assert.deepEqual(await ds.consumeJoinToken(token(1), T0 + 30), { ok: true, node: 'node-a' });
      assert.equal(await ds.pruneJoinTokens(T0 + 60_000), 2);
      assert.deepEqual(await ds.consumeJoinToken(token(1), T0 + 60_001), { ok: false, reason: 'unknown' });
    });

    it('the same join token presented to two replicas at once buys exactly one node', async () => {
      const { ds, another } = await fresh();
      const other = await another();
      for (let round = 0; round < 5; round++) {
        await ds.createJoinToken({ hash: token(100 + round), node: `node-${round}`, createdAt: T0, expiresAt: T0 + 60_000 });
        const tries = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? other : ds).consumeJoinToken(token(100 + round), T0 + 1)));
        assert.equal(tries.filter((t) => t.ok).length, 1, `round ${round}: ${JSON.stringify(tries)}`);
        assert.ok(tries.filter((t) => !t.ok).every((t) => !t.ok && t.reason === 'used'));
      }
    });

    it('keeps mesh revisions with their history; the same description twice is one revision; other replicas are told', async () => {
      const { ds, another } = await fresh();
      const other = await another();
      const told: string[] = [];
      let wake: () => void = () => {};
      await other.watch('mesh', (p) => {
        told.push(p);
        wake();
      });
      const heard = (n: number): Promise<void> => new Promise<void>((ok) => {
        wake = () => told.length >= n && ok();
        wake();
      });
      assert.equal(await ds.meshRevision(), undefined);
      const v1 = 'trustDomain: a.example\nservices: []\n';
      const r1 = await ds.appendMeshRevision({ source: v1, digest: digest(v1), appliedBy: 'uid 0', appliedAt: T0 });
      assert.equal(r1.created, true);
      assert.equal(r1.revision.revision, 1);
      await heard(1);
      const again = await other.appendMeshRevision({ source: v1, digest: digest(v1), appliedBy: 'uid 1', appliedAt: T0 + 1 });
      assert.deepEqual([again.created, again.revision.revision, again.revision.source], [false, 1, v1]);
      const v2 = 'trustDomain: a.example\nservices: [x]\n';
      const r2 = await other.appendMeshRevision({ source: v2, digest: digest(v2), appliedBy: 'uid 1', appliedAt: T0 + 2 });
      const r3 = await ds.appendMeshRevision({ source: v1, digest: digest(v1), appliedBy: 'uid 0', appliedAt: T0 + 3, rollbackOf: 1 });
      assert.deepEqual([r2.revision.revision, r3.revision.revision, r3.revision.rollbackOf], [2, 3, 1]);
      await heard(3);
      assert.deepEqual(told.slice(0, 3), ['1', '2', '3']);
      assert.equal((await other.meshRevision())?.revision, 3);
      assert.equal((await other.meshRevision(2))?.source, v2);
      assert.equal(await other.meshRevision(7), undefined);
      assert.deepEqual(
        (await ds.meshHistory(10)).map((h) => [h.revision, h.appliedBy, h.rollbackOf]),
        [
          [3, 'uid 0', 1],
          [2, 'uid 1', undefined],
          [1, 'uid 0', undefined],
        ],
      );
      assert.equal((await ds.meshHistory(1)).length, 1);
      await assert.rejects(ds.appendMeshRevision({ source: 'x', digest: 'nothex', appliedBy: 'u', appliedAt: T0 }), /digest must be 64 hex/);
    });

    it('publishes authorities (certificates, no keys) and a bundle sequence that only grows', async () => {
      const { ds, another } = await fresh();
      const other = await another();
      await ds.putAuthority({ id: 'AA', replica: 'r1', certificatePem: 'PEM-A', notAfter: T0 + 10, state: 'active' });
      await other.putAuthority({ id: 'BB', replica: 'r2', certificatePem: 'PEM-B', notAfter: T0 + 20, state: 'prepared' });
      await other.putAuthority({ id: 'BB', replica: 'r2', certificatePem: 'PEM-B', notAfter: T0 + 20, state: 'active' });
      assert.deepEqual((await ds.authorities()).map((a) => [a.id, a.replica, a.state]), [
        ['AA', 'r1', 'active'],
        ['BB', 'r2', 'active'],
      ]);
      await ds.removeAuthority('AA');
      assert.deepEqual((await other.authorities()).map((a) => a.id), ['BB']);
      const seqs = await Promise.all([ds.nextBundleSequence(), other.nextBundleSequence(), ds.nextBundleSequence()]);
      assert.deepEqual([...seqs].sort(), [1, 2, 3]);
    });

    it('records node SVIDs and forgets expired ones', async () => {
      const { ds } = await fresh();
      await ds.recordNodeSvid({ serial: '01', node: 'n1', replica: 'r1', notAfter: T0 + 100, issuedAt: T0 });
      await ds.recordNodeSvid({ serial: '02', node: 'n1', replica: 'r2', notAfter: T0 + 300, issuedAt: T0 + 200 });
      assert.deepEqual((await ds.nodeSvids('n1')).map((r) => r.serial), ['02']);
      assert.deepEqual(await ds.nodeSvids('n2'), []);
    });

    it("shows every replica's proxies until a replica misses its heartbeat timeout", async () => {
      const { ds, another } = await fresh();
      const other = await another();
      await ds.heartbeat('r1', T0, [{ streamId: 's1', doc: { nodeId: 'envoy-1' } }]);
      await other.heartbeat('r2', T0, [
        { streamId: 's2', doc: { nodeId: 'envoy-2' } },
        { streamId: 's3', doc: { nodeId: 'envoy-3' } },
      ]);
      if (ds.kind !== 'embedded') {
        assert.deepEqual((await ds.proxies(T0 + 1, 10_000)).map((p) => [p.replica, p.streamId, p.doc['nodeId']]), [
          ['r1', 's1', 'envoy-1'],
          ['r2', 's2', 'envoy-2'],
          ['r2', 's3', 'envoy-3'],
        ]);
      }
      await ds.heartbeat('r1', T0 + 8_000, []);
      await ds.heartbeat('r1', T0 + 9_000, [{ streamId: 's9', doc: { nodeId: 'envoy-9' } }]);
      assert.deepEqual((await ds.proxies(T0 + 10_001, 10_000)).map((p) => [p.replica, p.streamId]), [['r1', 's9']]);
      assert.deepEqual(await ds.liveReplicas(T0 + 10_001, 10_000), ['r1']);
    });

    it("keeps each replica incarnation's traffic evidence, replaced on write, read by time, outliving its replica until pruned", async () => {
      const { ds, another } = await fresh();
      const other = await another();
      const summary = (plaintext: number) => ({ windowMs: 48_000, bucketMs: 1_000, ports: [{ service: 'orders', port: 15006, evidenceAvailable: true, buckets: [[7, 0, plaintext, 0, 0]], sources: [], totals: [0, plaintext, 0, 0] }] });
      await ds.putEvidence({ replica: 'r1', incarnation: 'i1', writtenAt: T0, summary: summary(1) });
      await other.putEvidence({ replica: 'r2', incarnation: 'j1', writtenAt: T0 + 10, summary: summary(2) });
      await ds.putEvidence({ replica: 'r1', incarnation: 'i1', writtenAt: T0 + 20, summary: summary(3) });
      // r1 restarted: its new incarnation writes beside, never over, what the old one saw.
      await ds.putEvidence({ replica: 'r1', incarnation: 'i2', writtenAt: T0 + 30, summary: summary(0) });
      if (ds.kind !== 'embedded') {
        const all = await other.evidence(T0 - 1);
        assert.deepEqual(all.map((r) => [r.replica, r.incarnation, r.writtenAt]), [['r1', 'i1', T0 + 20], ['r1', 'i2', T0 + 30], ['r2', 'j1', T0 + 10]]);
        assert.deepEqual(all[0]!.summary, summary(3), 'the row is replaced whole, JSON intact');
      }
      assert.deepEqual((await ds.evidence(T0 + 20)).map((r) => r.incarnation), ['i2'], 'only rows written after `since`');
      assert.equal(await ds.pruneEvidence(T0 + 20), ds.kind === 'embedded' ? 1 : 2);
      assert.deepEqual((await ds.evidence(0)).map((r) => r.incarnation), ['i2']);
    });

    it("tells every replica of a heartbeat written with notify, and of none without", async () => {
      const { ds, another } = await fresh();
      const other = await another();
      const heard: string[] = [];
      let told!: () => void;
      const once = new Promise<void>((ok) => (told = ok));
      const off = await other.watch('status', (p) => {
        heard.push(p);
        told();
      });
      await ds.heartbeat('r1', T0, [], {});
      await ds.heartbeat('r2', T0, [], {}, { notify: true });
      await once;
      off();
      assert.deepEqual(heard, ['r2']);
    });

    it("keeps every replica's JWT-SVID public keys, replaced by key ID and removed on request", async () => {
      const { ds, another } = await fresh();
      const other = await another();
      const key = (x: string) => ({ kty: 'EC', crv: 'P-256', x, y: 'AQAB' });
      await ds.putJwtAuthority({ keyId: 'k1', replica: 'r1', publicKey: key('a'), notAfter: T0 + 1_000 });
      await other.putJwtAuthority({ keyId: 'k2', replica: 'r2', publicKey: key('b'), notAfter: T0 + 2_000 });
      await ds.putJwtAuthority({ keyId: 'k1', replica: 'r1', publicKey: key('c'), notAfter: T0 + 3_000 });
      assert.deepEqual(await other.jwtAuthorities(), [
        { keyId: 'k1', replica: 'r1', publicKey: key('c'), notAfter: T0 + 3_000 },
        { keyId: 'k2', replica: 'r2', publicKey: key('b'), notAfter: T0 + 2_000 },
      ]);
      await ds.removeJwtAuthority('k1');
      assert.deepEqual((await ds.jwtAuthorities()).map((r) => r.keyId), ['k2']);
    });

    it('keeps what each replica said of itself on its latest heartbeat, for live replicas only', async () => {
      const { ds, another } = await fresh();
      const other = await another();
      await ds.heartbeat('r1', T0, [], { revision: 3, decision: 7 });
      await other.heartbeat('r2', T0, []);
      await ds.heartbeat('r1', T0 + 1_000, [], { revision: 4, decision: 9 });
      if (ds.kind !== 'embedded') {
        assert.deepEqual(await other.replicas(T0 + 2_000, 10_000), [
          { replica: 'r1', heartbeatAt: T0 + 1_000, info: { revision: 4, decision: 9 } },
          { replica: 'r2', heartbeatAt: T0, info: {} },
        ]);
      }
      assert.deepEqual((await ds.replicas(T0 + 10_500, 10_000)).map((r) => [r.replica, r.info]), [['r1', { revision: 4, decision: 9 }]]);
    });

    it('grants a lease to one holder at a time; a fencing token refuses the decisions of a leader that lost it', async () => {
      const { ds, another } = await fresh();
      const other = await another();
      const a = await ds.acquireLease('rollout', 'replica-a', 10_000, T0);
      assert.deepEqual([a.held, a.lease.fencingToken], [true, 1]);
      const b = await other.acquireLease('rollout', 'replica-b', 10_000, T0 + 1_000);
      assert.deepEqual([b.held, b.lease.holder], [false, 'replica-a']);
      const renewed = await ds.acquireLease('rollout', 'replica-a', 10_000, T0 + 5_000);
      assert.deepEqual([renewed.held, renewed.lease.fencingToken, renewed.lease.expiresAt], [true, 1, T0 + 15_000]);
      await ds.recordRolloutDecision(renewed.lease, T0 + 6_000, 4, { step: 'server-permissive' });
      // replica-a stalls past its lease; replica-b takes over.
      const taken = await other.acquireLease('rollout', 'replica-b', 10_000, T0 + 15_000);
      assert.deepEqual([taken.held, taken.lease.fencingToken], [true, 2]);
      await assert.rejects(ds.recordRolloutDecision(renewed.lease, T0 + 15_001, 4, { step: 'strict' }), (e: unknown) => e instanceof DatastoreError && e.code === 'DATASTORE_FENCED');
      await other.recordRolloutDecision(taken.lease, T0 + 15_002, 4, { step: 'strict' });
      assert.deepEqual((await ds.rolloutDecisions(4)).map((d) => [d.fencingToken, d.decision['step']]), [
        [1, 'server-permissive'],
        [2, 'strict'],
      ]);
      await other.releaseLease('rollout', 'replica-b');
      const back = await ds.acquireLease('rollout', 'replica-a', 10_000, T0 + 15_003);
      assert.deepEqual([back.held, back.lease.fencingToken], [true, 3]);
    });

    it('of many replicas racing for a free lease, exactly one wins', async () => {
      const { ds, another } = await fresh();
      const handles = [ds, await another(), await another()];
      const tries = await Promise.all(Array.from({ length: 9 }, (_, i) => handles[i % 3]!.acquireLease('leader', `replica-${i}`, 5_000, T0)));
      const winners = tries.filter((t) => t.held);
      assert.equal(winners.length, 1, JSON.stringify(tries));
      assert.ok(tries.every((t) => t.lease.holder === winners[0]!.lease.holder));
    });
  });
}
