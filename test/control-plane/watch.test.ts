import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { ControlPlane, type ReloadResult } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';

test('an edit of the mesh file is picked up while serving: a bad one is refused, the next good one applies', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-watch-'));
  const meshFile = join(dir, 'mesh.yaml');
  copyFileSync(join(process.cwd(), 'examples', 'mesh.yaml'), meshFile);
  const cp = await ControlPlane.start(
    { dataDir: join(dir, 'data'), meshFile, unixSocket: '', tcpAddress: '', adminAddress: '', insecure: false, drainMs: 0 },
    { clock: new ManualClock(Date.now()), logger: silentLogger, watch: true },
  );
  const nextReload = (): Promise<ReloadResult> => new Promise((resolve) => { const off = cp.onReload((r) => { off(); resolve(r); }); });
  try {
    const good = readFileSync(meshFile, 'utf8');
    let reloaded = nextReload();
    writeFileSync(meshFile, good.replace('protocol: tcp', 'protocol: udp'));
    const bad = await reloaded;
    assert.equal(bad.ok, false);
    assert.match(bad.problems.join('\n'), /udp/);
    assert.equal(cp.mesh.serviceByName('inventory')?.inbound[0]?.protocol, 'tcp', 'the last good description keeps serving');

    // Editors save by writing a new file and renaming it over the old one.
    reloaded = nextReload();
    writeFileSync(join(dir, 'mesh.yaml.new'), good.replace('protocol: tcp', 'protocol: http'));
    renameSync(join(dir, 'mesh.yaml.new'), meshFile);
    assert.equal((await reloaded).ok, true);
    assert.equal(cp.mesh.serviceByName('inventory')?.inbound[0]?.protocol, 'http');
  } finally {
    await cp.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Kubernetes ConfigMap update (the ..data symlink swapped) is picked up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-watch-k8s-'));
  const good = readFileSync(join(process.cwd(), 'examples', 'mesh.yaml'), 'utf8');
  // The kubelet's layout: mesh.yaml -> ..data/mesh.yaml, ..data -> ..<timestamp>/
  mkdirSync(join(dir, '..2026_01_01_00_00_00.1'));
  writeFileSync(join(dir, '..2026_01_01_00_00_00.1', 'mesh.yaml'), good);
  symlinkSync('..2026_01_01_00_00_00.1', join(dir, '..data'));
  symlinkSync(join('..data', 'mesh.yaml'), join(dir, 'mesh.yaml'));
  const cp = await ControlPlane.start(
    { dataDir: join(dir, 'data'), meshFile: join(dir, 'mesh.yaml'), unixSocket: '', tcpAddress: '', adminAddress: '', insecure: false, drainMs: 0 },
    { clock: new ManualClock(Date.now()), logger: silentLogger, watch: true },
  );
  try {
    const reloaded = new Promise<ReloadResult>((resolve) => { const off = cp.onReload((r) => { off(); resolve(r); }); });
    mkdirSync(join(dir, '..2026_01_01_00_01_00.2'));
    writeFileSync(join(dir, '..2026_01_01_00_01_00.2', 'mesh.yaml'), good.replace('protocol: tcp', 'protocol: http'));
    symlinkSync('..2026_01_01_00_01_00.2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    assert.equal((await reloaded).ok, true);
    assert.equal(cp.mesh.serviceByName('inventory')?.inbound[0]?.protocol, 'http');
  } finally {
    await cp.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FileWatch: an atomic replace is taken at once, an in-place write once the file is quiet', async () => {
  const { FileWatch } = await import('../../src/control-plane/file-watch.js');
  const dir = mkdtempSync(join(tmpdir(), 'tp-filewatch-'));
  const file = join(dir, 'mesh.yaml');
  writeFileSync(file, 'one\n');
  // A quiet period longer than any test: only the rename path can call back.
  const changes: string[] = [];
  let notify: () => void = () => {};
  const watch = new FileWatch(file, (content) => {
    // The content handed over is what the file holds: the caller need not read it again.
    assert.equal(content?.toString('utf8'), readFileSync(file, 'utf8'));
    changes.push(readFileSync(file, 'utf8'));
    notify();
  }, silentLogger, 3_600_000);
  try {
    const changed = new Promise<void>((resolve) => (notify = resolve));
    writeFileSync(join(dir, 'mesh.yaml.tmp'), 'two\n');
    renameSync(join(dir, 'mesh.yaml.tmp'), file);
    await changed;
    assert.deepEqual(changes, ['two\n']);
    watch.taken();
  } finally {
    watch.close();
  }
  // With a short quiet period, writes in place are taken too, whole.
  const inPlace: string[] = [];
  const done = new Promise<void>((resolve) => {
    const w2 = new FileWatch(file, () => {
      inPlace.push(readFileSync(file, 'utf8'));
      w2.close();
      resolve();
    }, silentLogger, 5);
    writeFileSync(file, 'three\n');
  });
  await done;
  assert.deepEqual(inPlace, ['three\n']);
  rmSync(dir, { recursive: true, force: true });
});
