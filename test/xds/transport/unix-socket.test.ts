import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { spawnSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/clock.js';
import { IdentityStore } from '../../../src/store/identity-store.js';
import { startTransport, type TransportOptions } from '../../../src/xds/transport/transport.js';
import { addWhoService, captureLog, whoami, WhoClient } from './harness.js';

async function socketDir(): Promise<string> {
  // The data directory itself is world-traversable here so that only the socket directory and file modes decide.
  const data = await mkdtemp(join(tmpdir(), 'tp-uds-'));
  await chmod(data, 0o755);
  return join(data, 'sockets');
}

function options(unix: TransportOptions['unix'], extra: Partial<TransportOptions> = {}): TransportOptions {
  return { store: new IdentityStore('example.org'), clock: new ManualClock(Date.now()), log: captureLog().log, register: addWhoService, unix, ...extra };
}

/** Tries to connect to a Unix socket as another user; returns the errno code, or 'CONNECTED'. */
function connectAs(path: string, uid: number, gid: number): string {
  const script = `const s=require('net').connect(${JSON.stringify(path)});s.on('connect',()=>{console.log('CONNECTED');s.destroy()});s.on('error',e=>console.log(e.code))`;
  const r = spawnSync(process.execPath, ['-e', script], { uid, gid, encoding: 'utf8', cwd: '/' });
  return r.stdout.trim();
}

const isRoot = process.getuid?.() === 0;

describe('Unix socket listeners', () => {
  test('each per-workload socket authenticates its callers as that node', async () => {
    const dir = await socketDir();
    const t = await startTransport(
      options([
        { path: join(dir, 'edge-1.sock'), principal: { kind: 'node', name: 'edge-1' } },
        { path: join(dir, 'edge-2.sock'), principal: { kind: 'node', name: 'edge-2' } },
      ]),
    );
    const clients = t.unixSockets.map((p) => new WhoClient(`unix:${p}`, grpc.credentials.createInsecure()));
    try {
      assert.deepEqual(await Promise.all(clients.map(whoami)), ['node:edge-1', 'node:edge-2']);
      assert.deepEqual((await readdir(dir)).sort(), ['edge-1.sock', 'edge-2.sock'], 'no staging directory left behind');
    } finally {
      clients.forEach((c) => c.close());
      await t.close();
    }
    assert.deepEqual(await readdir(dir), [], 'sockets removed on close');
  });

  test('by default the socket is 0600 in a 0700 directory, and another user cannot connect', async () => {
    const dir = await socketDir();
    const path = join(dir, 'edge-1.sock');
    const t = await startTransport(options([{ path, principal: { kind: 'node', name: 'edge-1' } }]));
    try {
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      assert.equal((await stat(dir)).mode & 0o777, 0o700);
      assert.ok((await stat(path)).isSocket());
      if (isRoot) assert.equal(connectAs(path, 65534, 65534), 'EACCES');
    } finally {
      await t.close();
    }
  });

  test('a directory trustplane did not create keeps its mode; one others may write to (not sticky) is refused', async () => {
    const shared = await mkdtemp(join(tmpdir(), 'tp-shared-'));
    await chmod(shared, 0o1777);
    const t = await startTransport(options([{ path: join(shared, 'xds.sock'), principal: { kind: 'node', name: 'edge-1' } }]));
    try {
      assert.equal((await stat(shared)).mode & 0o7777, 0o1777, 'a sticky /tmp-like directory is left as it was');
    } finally {
      await t.close();
    }
    const open = await mkdtemp(join(tmpdir(), 'tp-open-'));
    await chmod(open, 0o777);
    await assert.rejects(startTransport(options([{ path: join(open, 'xds.sock'), principal: { kind: 'node', name: 'edge-1' } }])), (e: Error & { code?: string }) => e.code === 'UNIX_SOCKET_DIR_UNSAFE' && e.message.includes(open));
    assert.equal((await stat(open)).mode & 0o777, 0o777);
  });

  test('a group-restricted socket admits members of its group and nobody else', async () => {
    const dir = await socketDir();
    const path = join(dir, 'edge-1.sock');
    const gid = 4242;
    const spec = { path, principal: { kind: 'node', name: 'edge-1' } as const, mode: 0o660, gid, dirMode: 0o711 };
    const t = await startTransport(options([spec]));
    try {
      const st = await stat(path);
      assert.equal(st.mode & 0o777, 0o660);
      assert.equal(st.gid, isRoot ? gid : st.gid);
      if (isRoot) {
        assert.equal(connectAs(path, 65534, gid), 'CONNECTED');
        assert.equal(connectAs(path, 65534, 65534), 'EACCES');
      }
    } finally {
      await t.close();
    }
  });

  test('a stale socket from an earlier run is replaced; a live server’s socket or any other file at the path is refused', async () => {
    const dir = await socketDir();
    const path = join(dir, 'edge-1.sock');
    const spec = { path, principal: { kind: 'node', name: 'edge-1' } as const };
    // A process that bound the path and died without removing it (kill -9, a crash).
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const dead = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`]);
    assert.equal(dead.status, 0);
    assert.ok((await lstat(path)).isSocket(), 'a stale socket file is left');
    const first = await startTransport(options([spec]));
    const client = new WhoClient(`unix:${path}`, grpc.credentials.createInsecure());
    try {
      assert.equal(await whoami(client), 'node:edge-1');
      const before = (await lstat(path)).ino;
      await assert.rejects(startTransport(options([spec])), { code: 'UNIX_SOCKET_IN_USE' });
      assert.equal((await lstat(path)).ino, before, 'the live server keeps its socket');
      assert.equal(await whoami(client), 'node:edge-1');
    } finally {
      client.close();
      await first.close();
    }
    await mkdir(dir, { recursive: true });
    await writeFile(path, 'precious');
    await assert.rejects(startTransport(options([spec])), { code: 'UNIX_SOCKET_PATH_TAKEN' });
  });

  test('closing removes only the socket it bound: one that replaced it at the path stays', async () => {
    const dir = await socketDir();
    const path = join(dir, 'edge-1.sock');
    const t = await startTransport(options([{ path, principal: { kind: 'node', name: 'edge-1' } }]));
    assert.equal(t.problem(), undefined);
    await rm(path);
    assert.equal(t.problem(), `the xDS socket ${path} is gone`);
    await writeFile(path, 'someone else’s file');
    assert.equal(t.problem(), `the xDS socket ${path} was replaced by another file`);
    await t.close();
    assert.equal(await readFile(path, 'utf8'), 'someone else’s file');
  });

  test('the insecure development flag makes every caller insecure', async () => {
    const dir = await socketDir();
    const t = await startTransport(options([{ path: join(dir, 'a.sock'), principal: { kind: 'node', name: 'a' } }], { insecure: true }));
    const client = new WhoClient(`unix:${t.unixSockets[0]}`, grpc.credentials.createInsecure());
    try {
      assert.equal(await whoami(client), 'insecure');
    } finally {
      client.close();
      await t.close();
    }
  });
});
