// A CA key others can read is never signed with: a key left 0644, or a ca/ directory left 0755 (a restore, a copy),
// stops the CA from opening with an error that gives the command fixing it; after that command it opens again.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { ManualClock } from '../../src/clock.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { cli } from '../cli/run.js';
import { tempDir } from './helpers.js';

const td = TrustDomain.parse('example.org');
const open = (dataDir: string) => CertificateAuthority.open({ trustDomain: td, dataDir, clock: new ManualClock() });

/** The fix command the error gives, run through a shell as the operator would paste it. */
function runFix(message: string): void {
  const fix = /Fix: (chmod .*?) \(as uid/.exec(message)?.[1];
  assert.ok(fix, `the error gives a fix command: ${message}`);
  execFileSync('sh', ['-c', fix]);
}

for (const [what, expose] of [
  ['a key file left 0644', (ca: string) => chmodSync(join(ca, readdirSync(ca).find((f) => f.endsWith('.key.pem'))!), 0o644)],
  ['the ca/ directory left 0755', (ca: string) => chmodSync(ca, 0o755)],
  ['both', (ca: string) => {
    chmodSync(ca, 0o755);
    for (const f of readdirSync(ca)) if (f.endsWith('.key.pem')) chmodSync(join(ca, f), 0o644);
  }],
] as const) {
  test(`${what}: the CA refuses to open, says which file and how to fix it; the fix works`, () => {
    const dataDir = tempDir();
    open(dataDir).close();
    const ca = join(dataDir, 'ca');
    expose(ca);
    let message = '';
    assert.throws(
      () => open(dataDir),
      (e: Error & { code?: string }) => {
        message = e.message;
        return e.code === 'CA_KEY_EXPOSED' && /is mode 0(644|755)/.test(e.message) && e.message.includes(ca);
      },
    );
    runFix(message);
    open(dataDir).close();
  });
}

test('svid mint on an exposed CA: one line with the code, nothing minted', async () => {
  const dataDir = tempDir();
  const out = join(tempDir(), 'out');
  assert.equal((await cli('bundle', 'show', '--trust-domain', 'example.org', '--data-dir', dataDir)).code, 0);
  chmodSync(join(dataDir, 'ca'), 0o755);
  const r = await cli('svid', 'mint', '--spiffe-id', 'spiffe://example.org/web', '--out', out, '--data-dir', dataDir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^trustplane svid mint: the CA's keys must be readable by their owner only.*\[CA_KEY_EXPOSED\]\n$/);
  assert.deepEqual(readdirSync(out), []);
});

test('an upstream CA key others can read is refused, with the fix', () => {
  const d = tempDir();
  const keyFile = join(d, 'root.key');
  const certFile = join(d, 'root.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30', '-subj', '/O=upstream', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'ignore' });
  chmodSync(keyFile, 0o644);
  const openUpstream = () => CertificateAuthority.open({ trustDomain: td, dataDir: tempDir(), clock: new ManualClock(Date.now()), upstream: { certFile, keyFile } });
  assert.throws(openUpstream, (e: Error & { code?: string }) => e.code === 'CA_KEY_EXPOSED' && e.message.includes(`chmod 600 ${keyFile}`));
  chmodSync(keyFile, 0o600);
  openUpstream().close();
});
