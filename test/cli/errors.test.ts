// Every command's I/O failures reach the user as one line with a stable code (exit 1), usage mistakes as one line
// pointing at --help (exit 2); never a stack trace, never the whole help text, and a failed command changes nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { commands } from '../../src/cli/commands/index.js';
import { cli, type CliResult } from './run.js';

let dir: string;
let aFile: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tp-cli-errors-'));
  aFile = join(dir, 'a-file');
  writeFileSync(aFile, 'not a directory\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const ID = 'spiffe://example.org/ns/shop/sa/web';
/** A real CLI process is killed after this: a guard against a hang (a loop in mkdir, a server left running), not a
 * measure of speed; loading the CLI alone takes tens of seconds on the loaded 2-core test machine. */
const HANG_GUARD_MS = 120_000;

/** One line on stderr naming the code, exit 1, no stack trace. */
function assertOneLine(r: CliResult, code: string, also?: RegExp): void {
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`\\[${code}\\]$`, 'm'));
  assert.doesNotMatch(r.stderr, /\n\s+at |node:internal|Error:/);
  if (also) assert.match(r.stderr, also);
}

/** A usage error: one line, the command's name, what is wrong, and where help is; exit 2. */
function assertUsage(r: CliResult, what: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.match(r.stderr, what);
  assert.match(r.stderr, /see `trustplane [a-z ]+ --help`$/m);
  assert.doesNotMatch(r.stderr, /Usage:/);
}

describe('usage errors', () => {
  test('help texts name only options that exist', async () => {
    for (const c of commands) {
      const help = (await cli(...c.path, '--help')).stdout;
      assert.doesNotMatch(help, /svidFiles/, c.path.join(' '));
      for (const flag of help.matchAll(/(?<![\w-])--([a-z][a-z-]+)/g)) {
        assert.ok(flag[1] === 'help' || commands.some((o) => flag[1]! in o.options), `${c.path.join(' ')} --help names --${flag[1]}, which no command has`);
      }
    }
  });

  test('a missing required flag: the one useful line, then where help is', async () => {
    assertUsage(await cli('svid', 'mint', '--out', dir), /^trustplane svid mint: --spiffe-id is required; /);
  });

  test('an unknown flag: named plainly, quotes balanced', async () => {
    const r = await cli('id', 'parse', '--bogus', 'spiffe://a/b');
    assertUsage(r, /^trustplane id parse: unknown option --bogus; /);
    assert.equal((r.stderr.match(/['"]/g) ?? []).length % 2, 0, r.stderr);
  });

  test('a flag without its value', async () => {
    assertUsage(await cli('svid', 'mint', '--spiffe-id'), /--spiffe-id needs a value/);
  });

  test('an unknown command: one line, exit 2', async () => {
    const r = await cli('frobnicate');
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'trustplane: unknown command "frobnicate"; see `trustplane --help`\n');
  });
});

describe('svid mint', () => {
  test('--out under a regular file: NOT_A_DIRECTORY, and no CA is created', async () => {
    const data = join(dir, 'mint-enotdir');
    assertOneLine(await cli('svid', 'mint', '--spiffe-id', ID, '--out', join(aFile, 'out'), '--data-dir', data), 'NOT_A_DIRECTORY', /a-file/);
    assert.equal(existsSync(data), false, 'a failed mint leaves no CA behind');
  });

  test('--out /proc/nope fails at once instead of looping in mkdir (real process, bounded)', () => {
    const r = spawnSync(process.execPath, [join(process.cwd(), 'bin', 'trustplane.js'), 'svid', 'mint', '--spiffe-id', ID, '--out', '/proc/nope/x', '--data-dir', join(dir, 'mint-proc')], {
      encoding: 'utf8',
      timeout: HANG_GUARD_MS,
    });
    assert.equal(r.signal, null, 'did not have to be killed');
    assertOneLine({ code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, logs: '' }, 'FILE_NOT_FOUND', /\/proc\/nope\/x/);
  });
});

describe('svid verify', () => {
  test('a missing bundle file', async () => {
    assertOneLine(await cli('svid', 'verify', '--bundle', `example.org=${join(dir, 'nope.pem')}`, join(dir, 'svid.pem')), 'FILE_NOT_FOUND', /cannot read the bundle of example\.org .*nope\.pem/);
  });

  test('a missing certificate file', async () => {
    const out = join(dir, 'verify');
    assert.equal((await cli('svid', 'mint', '--spiffe-id', ID, '--out', out, '--data-dir', join(dir, 'verify-data'))).code, 0);
    assertOneLine(await cli('svid', 'verify', '--bundle', `example.org=${join(out, 'bundle.pem')}`, join(out, 'missing.pem')), 'FILE_NOT_FOUND', /cannot read the certificate chain .*missing\.pem/);
  });

  test('a directory given as the certificate', async () => {
    assertOneLine(await cli('svid', 'verify', '--bundle', `example.org=${join(dir, 'verify', 'bundle.pem')}`, dir), 'IS_A_DIRECTORY');
  });
});

describe('svid write', () => {
  test('--dir under a regular file', async () => {
    assertOneLine(await cli('svid', 'write', '--spiffe-id', ID, '--dir', join(aFile, 'svids'), '--data-dir', join(dir, 'write-data')), 'NOT_A_DIRECTORY');
  });

  test('--data-dir under a regular file', async () => {
    assertOneLine(await cli('svid', 'write', '--spiffe-id', ID, '--dir', join(dir, 'svids'), '--data-dir', join(aFile, 'data')), 'NOT_A_DIRECTORY');
  });
});

describe('node join and node renew', () => {
  test('renew --dir without svid.pem says to join first', async () => {
    const empty = join(dir, 'no-node');
    mkdirSync(empty);
    assertOneLine(await cli('node', 'renew', '--server', '127.0.0.1:1', '--trust-domain', 'example.org', '--dir', empty), 'NODE_SVID_MISSING', /node join/);
  });

  test('join with a malformed token: refused before anything is sent, the code said once', async () => {
    const r = await cli('node', 'join', '--server', '127.0.0.1:1', '--trust-domain', 'example.org', '--bundle', aFile, '--token', 'nope', '--dir', join(dir, 'join'));
    assertOneLine(r, 'JOIN_TOKEN_MALFORMED');
    assert.equal(r.stderr.split('JOIN_TOKEN_MALFORMED').length - 1, 1, r.stderr);
    assert.equal(existsSync(join(dir, 'join')), false);
  });

  test('join with a missing bundle file', async () => {
    assertOneLine(
      await cli('node', 'join', '--server', '127.0.0.1:1', '--trust-domain', 'example.org', '--bundle', join(dir, 'nope.pem'), '--token', `tpjt_${'A'.repeat(43)}`, '--dir', join(dir, 'join')),
      'FILE_NOT_FOUND',
    );
  });
});

describe('the other commands', () => {
  test('bundle show: a data directory under a regular file', async () => {
    assertOneLine(await cli('bundle', 'show', '--trust-domain', 'example.org', '--data-dir', join(aFile, 'data')), 'CA_STORE_IO', /ENOTDIR/);
  });

  test('token create: a data directory under a regular file', async () => {
    assertOneLine(await cli('token', 'create', '--node', 'n1', '--data-dir', join(aFile, 'data')), 'NOT_A_DIRECTORY');
  });

  test('generate: --out under a regular file', async () => {
    assertOneLine(await cli('generate', '--out', join(aFile, 'out')), 'NOT_A_DIRECTORY');
  });

  test('lint and bootstrap: a missing mesh file', async () => {
    for (const argv of [['lint'], ['bootstrap', '--service', 'web']]) {
      assertOneLine(await cli(...argv, '--mesh', join(dir, 'nope.yaml')), 'FILE_NOT_FOUND', /cannot read the mesh description .*nope\.yaml/);
    }
  });

  test('status, rollout status, admin link: no operator token where the data directory says', async () => {
    for (const argv of [['status'], ['rollout', 'status'], ['admin', 'link']]) {
      assertOneLine(await cli(...argv, '--admin', '127.0.0.1:1', '--data-dir', join(dir, 'no-server')), 'ADMIN_TOKEN_MISSING', /trustplane serve/);
    }
  });

  test('status: a server that is not there', async () => {
    const data = join(dir, 'stale-token');
    mkdirSync(data);
    writeFileSync(join(data, 'admin-token'), 'x\n', { mode: 0o600 });
    assertOneLine(await cli('status', '--admin', '127.0.0.1:1', '--data-dir', data), 'ADMIN_UNREACHABLE', /cannot reach the control plane at http:\/\/127\.0\.0\.1:1\/status/);
  });

  test('serve: --svid-dir, --uds or --data-dir under a regular file or in /proc: one line, at once', async () => {
    for (const [flag, path] of [['--svid-dir', join(aFile, 'svids')], ['--uds', join(aFile, 'x.sock')], ['--data-dir', join(aFile, 'data')], ['--uds', '/proc/nope/x.sock']] as const) {
      const argv = ['serve', '--data-dir', join(dir, `serve-${flag.slice(2)}`), '--tcp', '', '--admin', '', flag, path];
      const r = spawnSync(process.execPath, [join(process.cwd(), 'bin', 'trustplane.js'), ...argv], { encoding: 'utf8', timeout: HANG_GUARD_MS });
      assert.equal(r.signal, null, `${flag} ${path}: did not have to be killed`);
      const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('{'));
      assertOneLine({ code: r.status ?? -1, stdout: r.stdout, stderr: `${lines.join('\n')}\n`, logs: '' }, path.startsWith('/proc') ? 'FILE_NOT_FOUND' : 'NOT_A_DIRECTORY');
    }
  });

  test('id parse: an invalid ID', async () => {
    assertOneLine(await cli('id', 'parse', 'spiffe://a/b/../c'), 'DOT_SEGMENT');
  });
});

test('a failed command leaves the data directory as it was', async () => {
  const data = join(dir, 'unchanged');
  mkdirSync(data);
  const before = readdirSync(data);
  await cli('svid', 'mint', '--spiffe-id', ID, '--out', join(aFile, 'x'), '--data-dir', data);
  assert.deepEqual(readdirSync(data), before);
});
