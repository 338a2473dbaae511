// The data directory's mode is what the README says: 0700, or 0711 (traverse, not list) when trustplane runs as root
// and hands per-uid sockets to other users; nothing in it is readable by them. An existing directory with a looser
// mode is tightened; one owned by someone else is refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { lockDataDir, prepareDataDir } from '../../src/control-plane/data-dir.js';
import { silentLogger } from '../../src/observe/log.js';

const isRoot = process.getuid?.() === 0;
const OTHER = 41003;
const mode = (p: string): number => statSync(p).mode & 0o777;
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tp-data-dir-'));
  chmodSync(dir, 0o755); // the test's users must reach what is below
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** What uid OTHER gets from connect(2), readdir(3) and open(2) on these paths. */
function asOther(socket: string, list: string, read: string): { connect: string; list: string; read: string } {
  const script = `
    const fs = require('fs'); const out = {};
    try { fs.readdirSync(${JSON.stringify(list)}); out.list = 'OK'; } catch (e) { out.list = e.code; }
    try { fs.readFileSync(${JSON.stringify(read)}); out.read = 'OK'; } catch (e) { out.read = e.code; }
    const s = require('net').connect(${JSON.stringify(socket)});
    s.on('connect', () => { out.connect = 'OK'; s.destroy(); console.log(JSON.stringify(out)); });
    s.on('error', (e) => { out.connect = e.code; console.log(JSON.stringify(out)); });`;
  const r = spawnSync(process.execPath, ['-e', script], { uid: OTHER, gid: OTHER, cwd: '/', encoding: 'utf8' });
  return JSON.parse(r.stdout.trim()) as { connect: string; list: string; read: string };
}

test('an existing data directory left 0755 is made 0700', () => {
  const d = join(dir, 'loose');
  mkdirSync(d, { mode: 0o755 });
  chmodSync(d, 0o755);
  prepareDataDir(d, { traversableByOthers: false });
  assert.equal(mode(d), 0o700);
});

test('serve: 0700, or 0711 as root with per-uid sockets; their users reach their socket and nothing else', async () => {
  const meshFile = join(dir, 'mesh.yaml');
  writeFileSync(meshFile, readFileSync(join(process.cwd(), 'examples', 'mesh.yaml'), 'utf8').replace('nodes: [uid:1001]', `nodes: [uid:${OTHER}]`));
  const data = join(dir, 'data');
  const cp = await ControlPlane.start(
    { dataDir: data, meshFile, unixSocket: join(data, 'xds.sock'), tcpAddress: '', adminAddress: '127.0.0.1:0', insecure: false, drainMs: 0 },
    { clock: new ManualClock(Date.now()), logger: silentLogger, watch: false },
  );
  try {
    assert.equal(mode(data), isRoot ? 0o711 : 0o700);
    assert.equal(mode(join(data, 'ca')), 0o700);
    assert.equal(mode(join(data, 'admin-token')), 0o600);
    assert.equal(mode(join(data, 'serve.lock')), 0o600);
    if (isRoot) {
      const own = join(data, 'sockets', `uid-${OTHER}.sock`);
      assert.equal(statSync(own).uid, OTHER);
      assert.deepEqual(asOther(own, data, join(data, 'admin-token')), { connect: 'OK', list: 'EACCES', read: 'EACCES' });
      assert.deepEqual(asOther(join(data, 'xds.sock'), join(data, 'ca'), join(data, 'serve.lock')), { connect: 'EACCES', list: 'EACCES', read: 'EACCES' });
    }
  } finally {
    await cp.close();
  }
});

test('a data directory that belongs to another user is refused (as root, which can give it away)', async () => {
  const d = join(dir, 'theirs');
  mkdirSync(d, { mode: 0o700 });
  chownSync(d, OTHER, OTHER);
  await assert.rejects(
    ControlPlane.start(
      { dataDir: d, meshFile: join(process.cwd(), 'examples', 'mesh.yaml'), unixSocket: '', tcpAddress: '', adminAddress: '', insecure: false, drainMs: 0 },
      { clock: new ManualClock(Date.now()), logger: silentLogger, watch: false },
    ),
    (e: Error & { code?: string }) => e.code === 'DATA_DIR_NOT_OWNED' && e.message.includes(`uid ${OTHER}`),
  );
});

test('the lock: held once per process, a dead pid or garbage is taken over, released only by its holder', () => {
  const d = join(dir, 'lock');
  prepareDataDir(d, { traversableByOthers: false });
  const lockFile = join(d, 'serve.lock');
  const a = lockDataDir(d);
  assert.equal(readFileSync(lockFile, 'utf8'), `${process.pid}\n`);
  assert.throws(() => lockDataDir(d), (e: Error & { code?: string }) => e.code === 'DATA_DIR_LOCKED' && e.message.includes(`pid ${process.pid}`));
  a.release();
  assert.throws(() => statSync(lockFile));
  // A pid no process has (a dead server), then something that is no pid at all.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  for (const stale of [`${dead.stdout}\n`, 'garbage']) {
    writeFileSync(lockFile, stale);
    const b = lockDataDir(d);
    assert.equal(readFileSync(lockFile, 'utf8'), `${process.pid}\n`, `took over ${JSON.stringify(stale)}`);
    b.release();
  }
  // A lock another process took after ours was released is not removed by a second release.
  const c = lockDataDir(d);
  c.release();
  writeFileSync(lockFile, '1\n');
  c.release();
  assert.equal(readFileSync(lockFile, 'utf8'), '1\n');
});
