// A reload that leaves every service's identity and nodes alone does not touch identities or secrets: the SVIDs
// are not set again and no xDS stream re-reads its secrets (counted, not timed); one that changes them does.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { ControlPlane, sameIdentities } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';
import { parseMesh } from '../../src/mesh/parse.js';

const EXAMPLE = join(process.cwd(), 'examples', 'mesh.yaml');

describe('sameIdentities', () => {
  const text = readFileSync(EXAMPLE, 'utf8');
  const base = parseMesh(text, 'mesh.yaml');
  const cases: Array<[string, string, boolean]> = [
    ['the same text', text, true],
    ['an application port', text.replace('appPort: 8443', 'appPort: 9443'), true],
    ['a node added', text.replace('nodes: [uid:1001]', 'nodes: [uid:1001, uid:1009]'), false],
    ['a node replaced', text.replace('nodes: [uid:1001]', 'nodes: [uid:1009]'), false],
    ['a SPIFFE ID', text.replace('spiffe://example.org/ns/shop/sa/web', 'spiffe://example.org/ns/shop/sa/web2'), false],
  ];
  for (const [what, edited, same] of cases) {
    test(`${what}: ${same ? 'same' : 'not the same'}`, () => {
      assert.equal(sameIdentities(base, parseMesh(edited, 'mesh.yaml')), same);
    });
  }
  test('a service fewer: not the same', () => {
    const fewer = parseMesh(text, 'mesh.yaml');
    assert.equal(sameIdentities(base, { ...fewer, services: fewer.services.slice(1) } as typeof fewer), false);
  });
});

describe('control plane: reloads and identities', () => {
  let dir: string;
  let meshFile: string;
  let cp: ControlPlane;
  let policyChanges = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-cp-ids-'));
    meshFile = join(dir, 'mesh.yaml');
    copyFileSync(EXAMPLE, meshFile);
    cp = await ControlPlane.start(
      { dataDir: join(dir, 'data'), meshFile, unixSocket: join(dir, 'data', 'xds.sock'), tcpAddress: '', adminAddress: '', insecure: false, drainMs: 0 },
      { clock: new ManualClock(Date.now()), logger: silentLogger, watch: false },
    );
    const policyChanged = cp.xds.policyChanged.bind(cp.xds);
    cp.xds.policyChanged = () => {
      policyChanges++;
      policyChanged();
    };
  });
  after(async () => {
    await cp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an application port edited: no policy change, the same SVIDs', () => {
    const svids = cp.store.svids().map((r) => `${r.spiffeId} ${r.notAfter.toISOString()}`).sort();
    writeFileSync(meshFile, readFileSync(meshFile, 'utf8').replace('appPort: 8443', 'appPort: 9443'));
    assert.equal(cp.reload().ok, true);
    assert.equal(policyChanges, 0);
    assert.deepEqual(cp.store.svids().map((r) => `${r.spiffeId} ${r.notAfter.toISOString()}`).sort(), svids);
  });

  test('a node added: the policy changes once, and the new node may receive the identity', () => {
    writeFileSync(meshFile, readFileSync(meshFile, 'utf8').replace('nodes: [uid:1001]', 'nodes: [uid:1001, uid:1009]'));
    assert.equal(cp.reload().ok, true);
    assert.equal(policyChanges, 1);
    const web = cp.mesh.serviceByName('web')!;
    assert.deepEqual(cp.mesh.servicesForPrincipal({ kind: 'uid', uid: 1009 }).map((s) => s.name), [web.name]);
  });

  test('a SPIFFE ID changed: the policy changes, the new identity is minted and the old one leaves the store', () => {
    const old = cp.mesh.serviceByName('reports')!.spiffeId.toString();
    const renamed = old.replace(/reports$/, 'reports-v2');
    assert.ok(cp.store.getSvid(old));
    writeFileSync(meshFile, readFileSync(meshFile, 'utf8').replace(old, renamed));
    const r = cp.reload();
    assert.equal(r.ok, true, r.problems.join('; '));
    assert.equal(policyChanges, 2);
    assert.equal(cp.store.getSvid(old), undefined);
    assert.ok(cp.store.getSvid(renamed));
  });
});
