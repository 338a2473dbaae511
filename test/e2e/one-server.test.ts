// One server per data directory, with real `trustplane serve` processes: a second one is refused and names the
// first's pid, touches none of its sockets, and the first keeps serving; a lock left by a killed server is taken
// over; a socket or port another server holds is never taken from it; readiness fails when a socket is gone.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

const BIN = join(process.cwd(), 'bin', 'trustplane.js');
const MESH = join(process.cwd(), 'examples', 'mesh.yaml');

interface Served {
  readonly child: ChildProcess;
  readonly tcp: string;
  readonly admin: string;
}

interface Exited {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let dir: string;
const children: ChildProcess[] = [];
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tp-one-server-'));
});
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function run(args: readonly string[]): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'serve', '--mesh', MESH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

/** Starts serve and resolves once it printed where it listens. */
function serve(args: readonly string[]): Promise<Served> {
  const child = run(args);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const tcp = /TLS:\s+(\S+)/.exec(out)?.[1];
      const admin = /http:\/\/(\S+)\/live/.exec(out)?.[1];
      if (tcp && admin && out.includes('Point an Envoy at it')) resolve({ child, tcp, admin });
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
}

/** Runs serve expecting it to stop by itself. */
function refused(args: readonly string[]): Promise<Exited> {
  const child = run(args);
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

const inode = (path: string): number => lstatSync(path).ino;
/** The one error line of a refused serve (pino JSON lines are logs). */
const errorLine = (stderr: string): string[] => stderr.split('\n').filter((l) => l && !l.startsWith('{'));

describe('two serve processes', () => {
  let first: Served;
  let data: string;
  before(async () => {
    data = join(dir, 'data');
    first = await serve(['--data-dir', data, '--tcp', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
  });
  after(async () => {
    first.child.kill('SIGTERM');
    await exited(first.child);
  });

  test('a second serve on the same data directory is refused with the first pid; the first keeps serving', async () => {
    const sockets = [join(data, 'xds.sock')];
    const before = sockets.map(inode);
    const second = await refused(['--data-dir', data, '--tcp', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
    assert.equal(second.code, 1);
    assert.deepEqual(errorLine(second.stderr), [
      `trustplane serve: the data directory ${data} is already served by pid ${first.child.pid}; stop that process first, or give this one another --data-dir (if pid ${first.child.pid} is not trustplane, remove ${join(data, 'serve.lock')}) [DATA_DIR_LOCKED]`,
    ]);
    assert.deepEqual(sockets.map(inode), before, 'the first server’s sockets are untouched');
    const ready = await fetch(`http://${first.admin}/ready`);
    assert.equal(ready.status, 200);
  });

  test('a taken TCP port: one line with a code, no grpc-js text; nothing of the first touched', async () => {
    const r = await refused(['--data-dir', join(dir, 'other-1'), '--tcp', first.tcp, '--admin', '127.0.0.1:0']);
    assert.equal(r.code, 1);
    assert.deepEqual(errorLine(r.stderr), [`trustplane serve: xDS TCP address ${first.tcp} is already in use by another process (EADDRINUSE); stop it or choose another address [ADDRESS_IN_USE]`]);
    assert.doesNotMatch(r.stderr, /No address added|\n\s+at /);
    assert.equal((await fetch(`http://${first.admin}/ready`)).status, 200);
  });

  test('a taken admin port: one line with a code', async () => {
    const r = await refused(['--data-dir', join(dir, 'other-2'), '--tcp', '127.0.0.1:0', '--admin', first.admin]);
    assert.equal(r.code, 1);
    assert.deepEqual(errorLine(r.stderr), [`trustplane serve: admin address ${first.admin} is already in use by another process (EADDRINUSE); stop it or choose another address [ADDRESS_IN_USE]`]);
  });

  test('another data directory with the first one’s socket path: refused, the socket left alone', async () => {
    const socket = join(data, 'xds.sock');
    const before = inode(socket);
    const r = await refused(['--data-dir', join(dir, 'other-3'), '--uds', socket, '--tcp', '', '--admin', '']);
    assert.equal(r.code, 1);
    assert.match(errorLine(r.stderr)[0]!, /is the socket of another running server.*\[UNIX_SOCKET_IN_USE\]$/);
    assert.equal(inode(socket), before);
    assert.equal((await fetch(`http://${first.admin}/ready`)).status, 200);
  });

  test('readiness fails when the xDS socket is gone', async () => {
    rmSync(join(data, 'xds.sock'));
    const r = await fetch(`http://${first.admin}/ready`);
    assert.equal(r.status, 503);
    assert.equal(await r.text(), `not ready: the xDS socket ${join(data, 'xds.sock')} is gone\n`);
  });
});

test('a lock left by a killed server is taken over', async () => {
  const data = join(dir, 'killed');
  const a = await serve(['--data-dir', data, '--tcp', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
  assert.equal(readFileSync(join(data, 'serve.lock'), 'utf8').trim(), String(a.child.pid));
  a.child.kill('SIGKILL');
  await exited(a.child);
  const b = await serve(['--data-dir', data, '--tcp', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
  try {
    assert.equal(readFileSync(join(data, 'serve.lock'), 'utf8').trim(), String(b.child.pid));
    assert.equal((await fetch(`http://${b.admin}/ready`)).status, 200);
  } finally {
    b.child.kill('SIGTERM');
    await exited(b.child);
  }
  assert.throws(() => lstatSync(join(data, 'serve.lock')), 'a clean stop removes the lock');
});
