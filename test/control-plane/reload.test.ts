import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';
import { CONFIG_TYPES } from '../../src/xds/type-urls.js';

const EXAMPLE = join(process.cwd(), 'examples', 'mesh.yaml');

/** Every resource the cache serves, as group/type/name → version + bytes. */
function served(cp: ControlPlane): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of cp.mesh.services) {
    for (const t of CONFIG_TYPES) {
      for (const name of cp.resources.names(s.name, t)) {
        const r = cp.resources.get(s.name, t, name)!;
        out.set(`${s.name}/${t}/${name}`, `${r.version}:${Buffer.from(r.any).toString('base64')}`);
      }
    }
  }
  return out;
}

describe('control plane: mesh reload', () => {
  let dir: string;
  let meshFile: string;
  let cp: ControlPlane;
  const clock = new ManualClock(Date.now());

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-cp-'));
    meshFile = join(dir, 'mesh.yaml');
    copyFileSync(EXAMPLE, meshFile);
    cp = await ControlPlane.start(
      { dataDir: join(dir, 'data'), meshFile, unixSocket: join(dir, 'data', 'xds.sock'), tcpAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', insecure: false, drainMs: 0 },
      { clock, logger: silentLogger, watch: false },
    );
  });
  after(async () => {
    await cp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves generated listeners and clusters and an SVID for every declared identity', () => {
    assert.ok(served(cp).size > 10);
    for (const s of cp.mesh.services) assert.ok(cp.store.getSvid(s.spiffeId.toString()), `SVID for ${s.name}`);
    assert.ok(cp.store.getSvid(cp.serverSpiffeId));
    assert.deepEqual(cp.ready(), { ready: true });
  });

  const badEdits: Array<[string, (text: string) => string, RegExp]> = [
    ['a YAML syntax error', (t) => `${t}\n  - [unclosed`, /mesh\.yaml:\d+:\d+/],
    ['an unknown key', (t) => t.replace('defaultMode: PERMISSIVE', 'defaultMode: PERMISSIVE\ndefaultMood: STRICT'), /defaultMood/],
    ['an invalid SPIFFE ID', (t) => t.replace('spiffe://example.org/ns/shop/sa/web', 'spiffe://example.org/ns//web'), /services\[0\]\.spiffeId/],
    ['a dependency on a service that does not exist', (t) => t.replace('- service: payments', '- service: paymints'), /paymints/],
    ['a changed trust domain', (t) => t.replaceAll('example.org', 'example.net'), /trustDomain/],
  ];
  for (const [name, edit, where] of badEdits) {
    test(`a reload with ${name} changes nothing that is served and says why`, () => {
      const before = served(cp);
      const identities = cp.store.svids().map((s) => s.spiffeId).sort();
      const good = readFileSync(meshFile, 'utf8');
      writeFileSync(meshFile, edit(good));
      const result = cp.reload();
      assert.equal(result.ok, false);
      assert.match(result.problems.join('\n'), where);
      assert.deepEqual(served(cp), before, 'served resources are byte-identical');
      assert.deepEqual(cp.store.svids().map((s) => s.spiffeId).sort(), identities);
      assert.equal(cp.meshState.valid, false);
      assert.match(cp.meshState.problems.join('\n'), where);
      writeFileSync(meshFile, good);
      assert.equal(cp.reload().ok, true);
      assert.equal(cp.meshState.valid, true);
      assert.deepEqual(served(cp), before);
    });
  }

  test('a good reload swaps in the new description whole', async () => {
    const good = readFileSync(meshFile, 'utf8');
    const before = served(cp);
    writeFileSync(meshFile, good.replace(/  - name: reports[\s\S]*$/, '').replace('      - service: reports\n', ''));
    assert.deepEqual(cp.reload(), { ok: true, problems: [] });
    assert.equal(cp.mesh.serviceByName('reports'), undefined);
    assert.equal(cp.store.getSvid('spiffe://example.org/ns/batch/sa/reports'), undefined, 'identity of a removed service is dropped');
    assert.ok(![...served(cp).keys()].some((k) => k.startsWith('reports/')));
    assert.notDeepEqual(served(cp), before);
    const metrics = await cp.metrics.registry.metrics();
    assert.match(metrics, /trustplane_mesh_reloads_total\{result="ok"\} \d+/);
    assert.match(metrics, /trustplane_mesh_reloads_total\{result="invalid"\} 5/);
    assert.match(metrics, /trustplane_mesh_last_reload_valid 1/);
    assert.doesNotMatch(metrics, /spiffe_id="spiffe:\/\/example\.org\/ns\/batch\/sa\/reports"/, 'the removed identity has no expiry series');
    assert.match(metrics, /trustplane_svid_expiry_timestamp_seconds\{spiffe_id="spiffe:\/\/example\.org\/ns\/shop\/sa\/web"\}/);
    writeFileSync(meshFile, good);
    assert.equal(cp.reload().ok, true);
  });

  test('admin endpoints: /ready, /mesh, /metrics, /status', async () => {
    const base = `http://${cp.adminAddress}`;
    // Pages beyond health and metrics are the operator's: the token serve wrote into its data directory.
    const operator = { headers: { authorization: `Bearer ${readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim()}` } };
    assert.equal((await fetch(`${base}/ready`)).status, 200);
    assert.equal(((await (await fetch(`${base}/mesh`, operator)).json()) as { valid: boolean }).valid, true);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /trustplane_svid_expiry_timestamp_seconds\{spiffe_id="spiffe:\/\/example\.org\/ns\/shop\/sa\/web"\}/);
    assert.match(metrics, /trustplane_bundle_authorities\{trust_domain="example\.org"\} 1/);
    const caExpiry = Number(/^trustplane_ca_expiry_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
    assert.equal(caExpiry, cp.ca.status().find((a) => a.state === 'active')!.notAfter.getTime() / 1000);
    assert.doesNotMatch(metrics, /PRIVATE KEY/);
    assert.deepEqual(((await (await fetch(`${base}/status`, operator)).json()) as { proxies: unknown[] }).proxies, []);
    const rollout = (await (await fetch(`${base}/rollout`, operator)).json()) as { ports: Array<{ service: string; asked: string; inForce: string }> };
    const orders = rollout.ports.find((p) => p.service === 'orders');
    assert.deepEqual([orders?.asked, orders?.inForce], ['STRICT', 'STRICT'], 'the first description is in force at once');
    assert.equal((await fetch(`${base}/nope`, operator)).status, 404);
  });
});
