// The spiffe-helper role: files per identity, written atomically with a 0600 key, rewritten on renewal and on bundle
// changes (only what changed), federated bundles only when asked, and the after-write signal.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { ManualClock } from '../../src/clock.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { svidWrite } from '../../src/cli/commands/svid-write.js';
import { silentLogger } from '../../src/observe/log.js';
import { startSvidFilesDaemon } from '../../src/svid-files/daemon.js';
import { svidFilePaths } from '../../src/svid-files/layout.js';
import type { SvidFilesWrite } from '../../src/svid-files/writer.js';

const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'tp-svid-files-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const A = SpiffeId.parse('spiffe://example.org/ns/shop/sa/a');
const B = SpiffeId.parse('spiffe://example.org/ns/shop/sa/b');
const TTL = 3600_000;
const serial = (file: string) => new X509Certificate(readFileSync(file)).serialNumber;

function daemon(opts: { includeFederated?: boolean; selects?: (id: string) => boolean } = {}) {
  const clock = new ManualClock(Date.now());
  const writes: SvidFilesWrite[] = [];
  const root = temp();
  const d = startSvidFilesDaemon({ dataDir: temp(), spiffeIds: [A, B], config: { dir: root, ...opts }, clock, svidTtlMs: TTL, onWrite: (w) => writes.push(w) });
  return { d, clock, writes, root };
}

describe('svid files', () => {
  test('layout: <dir>/<trust domain><path>/ with spiffe-helper names', () => {
    assert.deepEqual(svidFilePaths('/srv/svids', A), {
      dir: '/srv/svids/example.org/ns/shop/sa/a',
      certificateFile: '/srv/svids/example.org/ns/shop/sa/a/svid.pem',
      privateKeyFile: '/srv/svids/example.org/ns/shop/sa/a/svid_key.pem',
      bundleFile: '/srv/svids/example.org/ns/shop/sa/a/svid_bundle.pem',
    });
  });

  test('every identity gets its chain, its key (0600, the key of that certificate) and the bundle; no temp file stays', () => {
    const { d, root } = daemon();
    try {
      for (const id of [A, B]) {
        const p = svidFilePaths(root, id);
        const leaf = new X509Certificate(readFileSync(p.certificateFile));
        assert.equal(leaf.subjectAltName, `URI:${id}`);
        assert.equal(statSync(p.privateKeyFile).mode & 0o777, 0o600);
        assert.equal(statSync(p.dir).mode & 0o777, 0o700);
        assert.ok(leaf.checkPrivateKey(createPrivateKey(readFileSync(p.privateKeyFile, 'utf8'))));
        assert.equal(readFileSync(p.bundleFile, 'utf8'), d.ca.bundle().toPem());
        assert.deepEqual(readdirSync(p.dir).sort(), ['svid.pem', 'svid_bundle.pem', 'svid_key.pem']);
      }
    } finally {
      d.close();
    }
  });

  test('a renewal (half the lifetime later) rewrites certificate and key, not the unchanged bundle', () => {
    const { d, clock, writes, root } = daemon();
    try {
      const before = serial(svidFilePaths(root, A).certificateFile);
      const seen = writes.length;
      clock.advance(0.61 * TTL);
      const renewed = writes.slice(seen);
      assert.deepEqual(renewed.map((w) => [w.spiffeId, [...w.files]]).sort(), [
        [A.toString(), ['certificate', 'key']],
        [B.toString(), ['certificate', 'key']],
      ]);
      assert.notEqual(serial(svidFilePaths(root, A).certificateFile), before);
    } finally {
      d.close();
    }
  });

  test('a CA rotation rewrites every bundle file with the new CA in it', () => {
    const { d, writes, root } = daemon();
    try {
      const seen = writes.length;
      d.ca.rotateNow();
      assert.deepEqual(new Set(writes.slice(seen).filter((w) => w.files.includes('bundle')).map((w) => w.spiffeId)), new Set([A.toString(), B.toString()]));
      const active = d.ca.status().find((a) => a.state === 'active')!.certificate;
      assert.ok(readFileSync(svidFilePaths(root, B).bundleFile, 'utf8').includes(active.toString().trim()));
    } finally {
      d.close();
    }
  });

  const federation = [
    { name: 'federated bundles are left out by default', includeFederated: false, expected: false },
    { name: 'includeFederated appends them after the own bundle', includeFederated: true, expected: true },
  ];
  for (const c of federation) {
    test(c.name, () => {
      const { d, root } = daemon({ includeFederated: c.includeFederated });
      const partner = CertificateAuthority.open({ trustDomain: TrustDomain.parse('partner.example.net'), dataDir: temp() });
      try {
        d.store.setBundle(partner.bundle());
        const text = readFileSync(svidFilePaths(root, A).bundleFile, 'utf8');
        assert.ok(text.startsWith(d.ca.bundle().toPem()));
        assert.equal(text.includes(partner.bundle().toPem()), c.expected);
      } finally {
        partner.close();
        d.close();
      }
    });
  }

  test('only selected identities are written', () => {
    const { d, root } = daemon({ selects: (id) => id === B.toString() });
    try {
      assert.throws(() => statSync(svidFilePaths(root, A).dir), /ENOENT/);
      assert.ok(statSync(svidFilePaths(root, B).certificateFile).isFile());
    } finally {
      d.close();
    }
  });

  test('after each write the signal goes to the given pid', async () => {
    const got = once(process, 'SIGUSR2');
    // A signal listener does not keep the event loop alive; this handle does, until the signal has arrived.
    const alive = setInterval(() => {}, 60_000);
    const d = startSvidFilesDaemon({ dataDir: temp(), spiffeIds: [A], config: { dir: temp(), afterWrite: { signal: { name: 'SIGUSR2', pid: process.pid } } } });
    try {
      assert.equal((await got)[0], 'SIGUSR2');
    } finally {
      clearInterval(alive);
      d.close();
    }
  });

  test('`trustplane svid write` (once) writes the files and exits', async () => {
    const root = temp();
    const out: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: () => true }, logger: () => silentLogger };
    const code = await svidWrite.run({ values: { 'spiffe-id': [A.toString()], dir: root, 'data-dir': temp() }, positionals: [], io });
    assert.equal(code, 0);
    assert.equal(new X509Certificate(readFileSync(svidFilePaths(root, A).certificateFile)).subjectAltName, `URI:${A}`);
    assert.match(out.join(''), /svid_key\.pem \(0600\)/);
  });
});
