// Shared by the CA tests: temp directories, the openssl CLI, and chain inspection.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { after } from 'node:test';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'trustplane-ca-test-'));
  dirs.push(d);
  return d;
}

export function openssl(args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function writePem(dir: string, name: string, certs: readonly X509Certificate[]): string {
  const file = join(dir, name);
  writeFileSync(file, certs.map((c) => c.toString()).join(''));
  return file;
}

/** Which of `authorities` signed `cert` (by signature), or undefined. */
export function signerOf(cert: X509Certificate, authorities: readonly X509Certificate[]): X509Certificate | undefined {
  return authorities.find((a) => cert.checkIssued(a) && cert.verify(a.publicKey));
}
