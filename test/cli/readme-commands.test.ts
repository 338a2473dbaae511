// The README's proxyless gRPC commands, run as written (only the SVID directory is moved into a temporary one, and
// serve gets its own data directory and free ports, so that this test can run beside others): serve writes each gRPC
// service's files, and the bootstrap names exactly those files.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const README_DIR = '/var/run/trustplane/svids';
const dir = mkdtempSync(join(tmpdir(), 'tp-readme-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The commands of the README's "Proxyless gRPC" shell block, comments dropped. */
function proxylessCommands(): string[] {
  const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Proxyless gRPC'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'the section has a shell block');
  return block.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

/** `npx trustplane a b c` → argv for bin/trustplane.js, with the README's SVID directory moved to `svids`. */
function argvOf(command: string, svids: string): string[] {
  const words = command.split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ['npx', 'trustplane'], command);
  return [join(process.cwd(), 'bin', 'trustplane.js'), ...words.slice(2).map((w) => (w === README_DIR ? svids : w))];
}

test('README, proxyless gRPC: serve writes the files the bootstrap names', { timeout: 120_000 }, async () => {
  const [serveLine, exportLine, rbacLine] = proxylessCommands();
  assert.match(serveLine!, /^npx trustplane serve /);
  const bootstrapLine = /^export GRPC_XDS_BOOTSTRAP_CONFIG="\$\((.*)\)"$/.exec(exportLine!)?.[1];
  assert.ok(bootstrapLine, exportLine);
  assert.equal(rbacLine, 'export GRPC_XDS_EXPERIMENTAL_RBAC=true');
  const svids = join(dir, 'svids');

  const serve = spawn(process.execPath, [...argvOf(serveLine!, svids), '--data-dir', join(dir, 'data'), '--tcp', '127.0.0.1:0', '--admin', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  serve.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      serve.stdout.on('data', (d: Buffer) => (out += d.toString()).includes('Point an Envoy') && resolve());
      serve.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    const boot = spawnSync(process.execPath, argvOf(bootstrapLine!, svids), { encoding: 'utf8' });
    assert.equal(boot.status, 0, boot.stderr);
    const config = JSON.parse(boot.stdout) as { certificate_providers: Record<string, { config: { certificate_file: string; private_key_file: string; ca_certificate_file: string } }> };
    const files = Object.values(config.certificate_providers).map((p) => p.config);
    assert.equal(files.length, 1);
    for (const f of [files[0]!.certificate_file, files[0]!.private_key_file, files[0]!.ca_certificate_file]) {
      assert.ok(f.startsWith(svids), f);
      assert.ok(existsSync(f), `serve wrote ${f}`);
    }
    assert.equal(statSync(files[0]!.private_key_file).mode & 0o777, 0o600);
    assert.match(readFileSync(files[0]!.certificate_file, 'utf8'), /^-----BEGIN CERTIFICATE-----/);
  } finally {
    serve.kill('SIGTERM');
    await new Promise((r) => serve.once('exit', r));
  }
});
