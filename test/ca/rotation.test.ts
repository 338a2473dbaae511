import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { activationDue, preparationDue, publishLeadMs } from '../../src/ca/rotation.js';
import { SvidManager } from '../../src/ca/svid-manager.js';
import { ManualClock } from '../../src/clock.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { verifyX509Svid } from '../../src/spiffe/x509svid.js';
import { IdentityStore } from '../../src/store/identity-store.js';
import { signerOf, tempDir } from './helpers.js';

const H = 3600_000;
const td = TrustDomain.parse('example.org');
const ids = ['spiffe://example.org/ns/a/sa/front', 'spiffe://example.org/ns/a/sa/orders', 'spiffe://example.org/ns/b/sa/db'];

/** A small deterministic PRNG (mulberry32) so jittered schedules are reproducible. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('rotation schedule', () => {
  const cases: [string, number, number, number, number][] = [
    ['default 7 day CA, 1 h SVIDs: prepare at 1/2, activate at 5/6', 168 * H, H, 84 * H, 140 * H],
    ['12 h CA, 1 h SVIDs', 12 * H, H, 6 * H, 10 * H],
    ['3 h CA, 1 h SVIDs: activation leaves a full SVID TTL before expiry', 3 * H, H, 1.5 * H, 2 * H],
  ];
  for (const [name, caTtl, svidTtl, prepare, activate] of cases) {
    test(name, () => {
      const v = { notBefore: 0, notAfter: caTtl };
      assert.equal(preparationDue(v, svidTtl), prepare);
      assert.equal(activationDue(v, svidTtl), activate);
      assert.ok(activate - prepare >= publishLeadMs(svidTtl));
    });
  }
});

interface Observed {
  published: Map<string, { seq: number; at: number }>;
  removed: Map<string, number>;
  svids: { seq: number; at: number; signer: string; notAfter: number }[];
}

/** Runs a CA + SvidManager on a manual clock and records every bundle and SVID change in order. */
function simulate(caTtlMs: number) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock, caTtlMs, svidTtlMs: H });
  const store = new IdentityStore(td.name);
  const obs: Observed = { published: new Map(), removed: new Map(), svids: [] };
  let seq = 0;
  let everSeen: X509Certificate[] = [];
  const checkAll = (when: string): void => {
    const now = clock.now();
    for (const id of ids) {
      const svid = store.getSvid(id);
      assert.ok(svid, `${when}: no SVID for ${id}`);
      assert.ok(svid.notBefore.getTime() <= now && now < svid.notAfter.getTime(), `${when}: SVID for ${id} not valid now`);
      verifyX509Svid(svid.chain, store, new Date(now));
    }
  };
  store.subscribe((change) => {
    seq++;
    const now = clock.now();
    if (change.bundles.length) {
      const current = store.getBundle(td.name)!.x509Authorities;
      for (const c of current) if (!obs.published.has(c.fingerprint256)) obs.published.set(c.fingerprint256, { seq, at: now });
      for (const c of everSeen) if (!obs.removed.has(c.fingerprint256) && !current.some((x) => x.fingerprint256 === c.fingerprint256)) obs.removed.set(c.fingerprint256, now);
      everSeen = [...new Map([...everSeen, ...current].map((c) => [c.fingerprint256, c])).values()];
    }
    for (const id of change.svids) {
      const svid = store.getSvid(id);
      if (!svid) continue;
      const signer = signerOf(svid.chain[0]!, everSeen);
      assert.ok(signer, `SVID for ${id} at ${new Date(now).toISOString()} was signed by a CA never published`);
      obs.svids.push({ seq, at: now, signer: signer.fingerprint256, notAfter: svid.notAfter.getTime() });
    }
    // The instant right after any change is the riskiest one: check it too (once every identity has an SVID).
    if (ids.every((id) => store.getSvid(id))) checkAll(`after change #${seq}`);
  });
  const manager = new SvidManager({ ca, store, clock, random: seeded(42) });
  manager.setIdentities(ids.map((s) => SpiffeId.parse(s)));
  return { clock, ca, store, obs, manager, checkAll };
}

describe('CA rotation without an outage', () => {
  test('sampled across three rotations: always a valid SVID per identity that verifies against the current bundle', () => {
    // The shortest CA TTL allowed (3 SVID TTLs) rotates every 2 h, so four CA lifetimes cover three rotations.
    const caTtl = 3 * H;
    const { clock, ca, obs, manager, checkAll } = simulate(caTtl);
    const start = clock.now();
    const step = 5 * 60_000 + 13_000; // deliberately not aligned with any schedule
    let samples = 0;
    while (clock.now() < start + 4 * caTtl) {
      clock.advance(step);
      checkAll(`at ${new Date(clock.now()).toISOString()}`);
      samples++;
    }
    manager.close();
    ca.close();
    assert.ok(samples > 130);

    const signers = new Set(obs.svids.map((s) => s.signer));
    assert.ok(signers.size >= 3, `expected SVIDs from at least 3 CAs, got ${signers.size}`);
    assert.ok(obs.removed.size >= 2, `expected at least 2 CAs retired from the bundle, got ${obs.removed.size}`);

    for (const signer of signers) {
      const signed = obs.svids.filter((s) => s.signer === signer);
      const published = obs.published.get(signer)!;
      const firstSvid = signed[0]!;
      assert.ok(published.seq < firstSvid.seq, 'a CA is published before its first SVID exists');
      if (published.at !== start) assert.ok(firstSvid.at - published.at >= publishLeadMs(H), 'a rotated-in CA is published well before it signs');
      const removedAt = obs.removed.get(signer);
      if (removedAt !== undefined) {
        const lastExpiry = Math.max(...signed.map((s) => s.notAfter));
        assert.ok(removedAt >= lastExpiry, 'a CA leaves the bundle only after its last SVID expired');
        assert.ok(removedAt - lastExpiry <= H, 'and not long after');
      }
    }
  });

  test('rotateNow publishes the new CA before it signs, and keeps the old one until its SVIDs expire', () => {
    const { clock, ca, store, obs, manager } = simulate(12 * H);
    clock.advance(H);
    const oldId = ca.status().find((s) => s.state === 'active')!.id;
    const seen: string[] = [];
    const unsubscribe = ca.onBundleChange((b) => seen.push(b.x509Authorities.map((c) => c.serialNumber).join()));
    ca.rotateNow();
    unsubscribe();
    const status = ca.status();
    const newActive = status.find((s) => s.state === 'active')!;
    assert.notEqual(newActive.id, oldId);
    assert.equal(status.find((s) => s.id === oldId)!.state, 'old');
    assert.equal(seen.length, 1);
    assert.ok(store.getBundle(td.name)!.x509Authorities.some((c) => c.fingerprint256 === newActive.certificate.fingerprint256));

    const fresh = ca.mintX509Svid(SpiffeId.parse(ids[0]!));
    assert.equal(signerOf(fresh.chain[0]!, [newActive.certificate])?.fingerprint256, newActive.certificate.fingerprint256);
    const oldFp = status.find((s) => s.id === oldId)!.certificate.fingerprint256;
    const lastOld = Math.max(...obs.svids.filter((s) => s.signer === oldFp).map((s) => s.notAfter));
    clock.advanceTo(lastOld - 1);
    assert.ok(store.getBundle(td.name)!.x509Authorities.some((c) => c.fingerprint256 === oldFp), 'old CA still published');
    clock.advanceTo(lastOld);
    assert.ok(!store.getBundle(td.name)!.x509Authorities.some((c) => c.fingerprint256 === oldFp), 'old CA dropped at its last expiry');
    manager.close();
    ca.close();
  });

  test('with requirePublication (replicas), a prepared CA signs only a publish lead after it was confirmed published; unconfirmed, only when the active CA could no longer sign a full-lifetime SVID', () => {
    const clock = new ManualClock();
    const t0 = clock.now();
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock, caTtlMs: 12 * H, svidTtlMs: H });
    ca.requirePublication();
    const lead = publishLeadMs(H);
    const cert = (id: string): X509Certificate => ca.status().find((a) => a.id === id)!.certificate;
    const signer = (): string | undefined => {
      const leaf = ca.mintX509Svid(SpiffeId.parse(ids[0]!)).chain[0]!;
      return ca.status().find((a) => signerOf(leaf, [a.certificate]))?.id;
    };
    const first = ca.status()[0]!.id;
    ca.confirmPublished([first]);
    clock.advanceTo(t0 + 6 * H + 60_000);
    const next = ca.status().find((a) => a.state === 'prepared')!.id;
    assert.ok(cert(next));
    // Past the schedule's activation time, but nobody said the datastore holds the new CA: the old one keeps signing.
    clock.advanceTo(t0 + 10 * H + 60_000);
    assert.equal(signer(), first);
    ca.confirmPublished([first, next]);
    assert.equal(signer(), first, 'not before the publish lead has passed since the confirmation');
    clock.advance(lead);
    assert.equal(signer(), next);

    // Never confirmed: the prepared CA takes over only when the active one could no longer sign an SVID for its full
    // lifetime (signing must go on, and SVIDs are not cut ever shorter toward the active CA's end).
    const active = ca.status().find((a) => a.state === 'active')!;
    const lastResort = active.notAfter.getTime() - H;
    clock.advanceTo(lastResort - 60_000);
    const unconfirmed = ca.status().find((a) => a.state === 'prepared')!.id;
    assert.equal(signer(), next);
    clock.advanceTo(lastResort);
    assert.equal(signer(), unconfirmed);
    const leaf = ca.mintX509Svid(SpiffeId.parse(ids[0]!)).chain[0]!;
    assert.equal(Date.parse(leaf.validTo) - clock.now() >= H - 1000, true, 'a full-lifetime SVID');
    ca.close();
  });
});
