import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { CaError } from '../../src/ca/errors.js';
import { SvidManager, type RenewalEvent, type SvidIssuer } from '../../src/ca/svid-manager.js';
import { ManualClock } from '../../src/clock.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { IdentityStore } from '../../src/store/identity-store.js';
import { tempDir } from './helpers.js';

const H = 3600_000;
const td = TrustDomain.parse('example.org');
const a = SpiffeId.parse('spiffe://example.org/a');
const b = SpiffeId.parse('spiffe://example.org/b');
const c = SpiffeId.parse('spiffe://example.org/c');

function setup(random: () => number = Math.random) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock });
  const store = new IdentityStore(td.name);
  const events: (RenewalEvent & { at: number })[] = [];
  const manager = new SvidManager({ ca, store, clock, random, onRenewal: (e) => events.push({ ...e, at: clock.now() }) });
  return { clock, ca, store, events, manager };
}

describe('renewal timing', () => {
  const cases: [string, number, number][] = [
    ['lowest jitter renews at 40% of the lifetime', 0, 0.4],
    ['middle renews at 50%', 0.5, 0.5],
    ['highest jitter renews just under 60%', 0.99999, 0.6],
  ];
  for (const [name, r, fraction] of cases) {
    test(name, () => {
      const { clock, ca, events, manager } = setup(() => r);
      manager.setIdentities([a]);
      const lifetime = events[0]!.notAfter!.getTime() - events[0]!.at;
      clock.advance(2 * H);
      const gap = events[1]!.at - events[0]!.at;
      assert.ok(Math.abs(gap - fraction * lifetime) <= lifetime * 1e-4, `renewed after ${gap} ms, expected ${fraction * lifetime}`);
      manager.close();
      ca.close();
    });
  }

  test('with random jitter every renewal falls within 40–60% of the lifetime, and the SVID is always valid', () => {
    const { clock, ca, store, events, manager } = setup();
    manager.setIdentities([a, b]);
    for (let t = 0; t < 24 * H; t += 60_000) {
      clock.advance(60_000);
      for (const id of [a, b]) assert.ok(store.getSvid(id.toString())!.notAfter.getTime() > clock.now());
    }
    for (const id of [a, b]) {
      const mine = events.filter((e) => e.spiffeId === id.toString());
      assert.ok(mine.length > 40);
      for (let i = 1; i < mine.length; i++) {
        const lifetime = mine[i - 1]!.notAfter!.getTime() - mine[i - 1]!.at;
        const f = (mine[i]!.at - mine[i - 1]!.at) / lifetime;
        assert.ok(f >= 0.4 && f <= 0.6, `renewal at ${f} of the lifetime`);
      }
    }
    manager.close();
    ca.close();
  });
});

describe('identities', () => {
  test('setIdentities mints new identities at once and drops removed ones with their timers', () => {
    const { clock, ca, store, manager } = setup();
    manager.setIdentities([a, b]);
    assert.deepEqual(store.svids().map((s) => s.spiffeId).sort(), [a.toString(), b.toString()]);
    const pendingTwo = clock.pending;
    const serialB = store.getSvid(b.toString())!.serial;
    manager.setIdentities([b, c]);
    assert.deepEqual(store.svids().map((s) => s.spiffeId).sort(), [b.toString(), c.toString()]);
    assert.equal(store.getSvid(b.toString())!.serial, serialB, 'a kept identity is not re-minted');
    assert.equal(clock.pending, pendingTwo, 'the dropped identity timer is gone, the new one armed');
    manager.setIdentities([]);
    assert.deepEqual(store.svids(), []);
    manager.close();
    ca.close();
  });

  test('the CA bundle is in the store from the start and follows every change', () => {
    const { ca, store, manager } = setup();
    assert.equal(store.getBundle(td.name), ca.bundle());
    ca.rotateNow();
    assert.equal(store.getBundle(td.name)!.x509Authorities.length, 2);
    assert.equal(store.getBundle(td.name), ca.bundle());
    manager.close();
    ca.close();
  });
});

describe('failures', () => {
  test('a failing mint is retried with exponential backoff, reported, and logged without key material', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock });
    let failuresLeft = 4;
    const flaky: SvidIssuer = {
      bundle: () => ca.bundle(),
      onBundleChange: (l) => ca.onBundleChange(l),
      mintX509Svid: (id) => {
        if (failuresLeft-- > 0) throw new CaError('CA_STORE_IO', 'cannot write journal.json: ENOSPC');
        return ca.mintX509Svid(id);
      },
    };
    const store = new IdentityStore(td.name);
    const events: (RenewalEvent & { at: number })[] = [];
    const logs: string[] = [];
    const logger = { info: () => {}, warn: (o: object, m: string) => logs.push(JSON.stringify(o) + m) };
    const start = clock.now();
    const manager = new SvidManager({
      ca: flaky, store, clock, logger, retryInitialMs: 1000, retryMaxMs: 4000,
      onRenewal: (e) => events.push({ ...e, at: clock.now() }),
    });
    manager.setIdentities([a]);
    clock.advance(20_000);
    assert.deepEqual(
      events.map((e) => [e.result, e.at - start, e.code]),
      [['error', 0, 'CA_STORE_IO'], ['error', 1000, 'CA_STORE_IO'], ['error', 3000, 'CA_STORE_IO'], ['error', 7000, 'CA_STORE_IO'], ['ok', 11000, undefined]],
    );
    assert.ok(store.getSvid(a.toString()));
    assert.equal(logs.length, 4);
    for (const l of logs) assert.doesNotMatch(l, /PRIVATE KEY/);
    manager.close();
    ca.close();
  });

  test('SVIDs cut short by their CA\'s end are renewed ever sooner, but never again at the same instant', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock });
    const end = clock.now() + 10_000;
    const clamped: SvidIssuer = {
      bundle: () => ca.bundle(),
      onBundleChange: (l) => ca.onBundleChange(l),
      mintX509Svid: (id) => {
        const r = ca.mintX509Svid(id);
        return clock.now() < end ? { spiffeId: r.spiffeId, chain: r.chain, privateKeyPem: r.privateKeyPem, notBefore: r.notBefore, notAfter: new Date(end), serial: r.serial } : r;
      },
    };
    const at: number[] = [];
    const manager = new SvidManager({ ca: clamped, store: new IdentityStore(td.name), clock, jitter: 0, onRenewal: () => at.push(clock.now()) });
    manager.setIdentities([a]);
    clock.advance(20_000);
    // Halving towards `end`, one millisecond apart at the least, then a full-lifetime SVID: a few dozen, not a loop.
    assert.ok(at.length > 10 && at.length < 40, `${at.length} renewals`);
    for (let i = 1; i < at.length; i++) assert.ok(at[i]! > at[i - 1]!, 'never twice at the same instant');
    assert.ok(at.at(-1)! >= end);
    manager.close();
    ca.close();
  });
});
