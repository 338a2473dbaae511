// `trustplane svid write --daemon` as a real process: it stays up after its first write, rewrites the files when the
// SVID is renewed (at about half of a one-minute lifetime: the shortest the CA allows), and stops cleanly on
// SIGTERM. (It used to exit with status 13 right after the first write: nothing held the process open.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const dir = mkdtempSync(join(tmpdir(), 'tp-svid-daemon-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const serialOf = (file: string): string | undefined => {
  try {
    return new X509Certificate(readFileSync(file)).serialNumber;
  } catch {
    return undefined; // not written yet
  }
};

test('svid write --daemon renews the files until SIGTERM, then exits 0', { timeout: 120_000 }, async () => {
  const out = join(dir, 'svids');
  const leafDir = join(out, 'example.org', 'ns', 'shop', 'sa', 'web');
  const cert = join(leafDir, 'svid.pem');
  const child = spawn(process.execPath, [join(process.cwd(), 'bin', 'trustplane.js'), 'svid', 'write', '--daemon', '--spiffe-id', 'spiffe://example.org/ns/shop/sa/web', '--dir', out, '--ttl', '1m', '--data-dir', join(dir, 'data')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let early: number | null | undefined;
  void exit.then((c) => (early = c));

  // The first write is announced on stdout.
  await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('wrote ') && resolve()));
  const first = serialOf(cert);
  assert.ok(first, 'the first SVID is on disk');

  // The renewal replaces svid.pem (an atomic rename in its directory): wait for a file with another serial.
  await new Promise<void>((resolve, reject) => {
    const w = watch(leafDir, () => {
      const now = serialOf(cert);
      if (now && now !== first) {
        w.close();
        resolve();
      }
    });
    void exit.then((code) => {
      w.close();
      reject(new Error(`svid write --daemon exited with ${code} before renewing: ${stderr}`));
    });
  });
  assert.equal(early, undefined, 'still running after the renewal');

  child.kill('SIGTERM');
  assert.equal(await exit, 0, stderr);
  assert.match(stderr, /svid write: stopping; the files stay/);
  assert.ok(existsSync(cert) && existsSync(join(leafDir, 'svid_key.pem')));
  assert.equal(existsSync(join(dir, 'data', 'serve.lock')), false, 'the data directory lock is released');
});
