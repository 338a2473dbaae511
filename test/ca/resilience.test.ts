// Timers run outside any caller: a failure inside one must be survived, logged and retried, never end the process
// or leave an identity without its next renewal.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CertificateAuthority, DEFAULT_CA_TTL_MS } from '../../src/ca/certificate-authority.js';
import { SvidManager } from '../../src/ca/svid-manager.js';
import { ManualClock } from '../../src/clock.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { IdentityStore } from '../../src/store/identity-store.js';
import { tempDir } from './helpers.js';

const H = 3600_000;
const td = TrustDomain.parse('example.org');
const id = SpiffeId.parse('spiffe://example.org/a');

function logs() {
  const warnings: string[] = [];
  return { warnings, logger: { info() {}, warn: (_o: object, msg: string) => void warnings.push(msg) } };
}

describe('failures inside timers', () => {
  test('a store subscriber that throws on a renewal does not stop later renewals', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock });
    const store = new IdentityStore(td.name);
    const { warnings, logger } = logs();
    const serials: string[] = [];
    store.subscribe((c) => {
      if (c.svids.length) serials.push(store.getSvid(id.toString())!.serial);
    });
    let fail = false;
    store.subscribe((c) => {
      if (fail && c.svids.length) throw new Error('subscriber broke');
    });
    const manager = new SvidManager({ ca, store, clock, logger, random: () => 0.5 });
    manager.setIdentities([id]);
    fail = true;
    clock.advance(H / 2 + 1);
    assert.equal(serials.length, 2, 'the other subscriber still heard of the renewal');
    assert.match(warnings.join('\n'), /subscriber/);
    fail = false;
    clock.advance(H / 2 + 1);
    assert.equal(serials.length, 3, 'and the next renewal still came');
    manager.close();
    ca.close();
  });

  test('a rotation step that fails (a bundle listener throws) is retried, and the rotation completes', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const { warnings, logger } = logs();
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock, logger });
    let failures = 1;
    let sizes: number[] = [];
    ca.onBundleChange((b) => {
      if (failures-- > 0) throw new Error('listener broke');
      sizes.push(b.x509Authorities.length);
    });
    clock.advance(DEFAULT_CA_TTL_MS / 2 + 60_000);
    assert.match(warnings.join('\n'), /CA rotation step failed; retrying/);
    const first = ca.status().find((a) => a.state === 'active')!.id;
    clock.advance(DEFAULT_CA_TTL_MS / 2);
    const active = ca.status().find((a) => a.state === 'active')!;
    assert.notEqual(active.id, first, 'a new CA took over');
    assert.ok(sizes.includes(2), 'it was published beside the old one before that');
    ca.close();
  });
});
