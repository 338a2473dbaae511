// JWT-SVIDs across `serve --datastore` replicas on a real PostgreSQL: each replica signs with keys of its own, and an
// independent relying party (jose's remote JWK set) that fetches /keys from replica B verifies what replica A
// minted — before and after a rotation on A, whose next key reaches B's /keys before A signs with it. A rotated key
// leaves B's /keys once the last token it signed expired; a dead replica's key once the key itself expired. With
// PostgreSQL down, a replica's prepared key does not sign until the datastore took it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { ManualClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { startTestPostgres, type TestPostgres } from '../datastore/pg-server.js';
import { eventually, shopMesh, TD } from '../replica/harness.js';

const H = 3600_000;
const ISSUER = 'https://oidc.example.test';
const AUD = 'sts.amazonaws.com';
const web = SpiffeId.parse(`spiffe://${TD}/ns/shop/sa/web`);

describe('JWT-SVID keys across replicas (OIDC /keys of one replica verifies tokens of another)', () => {
  let pgServer: TestPostgres;
  let dir: string;
  const clock = new ManualClock(Date.now());
  const cps: ControlPlane[] = [];
  let a: ControlPlane;
  let b: ControlPlane;

  const start = async (id: string, url: string, meshFile: string): Promise<ControlPlane> => {
    const cp = await ControlPlane.start(
      {
        dataDir: join(dir, id), meshFile, unixSocket: '', tcpAddress: '', adminAddress: '', insecure: false, drainMs: 0,
        caTtlMs: 6 * H, svidTtlMs: H,
        oidc: { issuer: ISSUER, address: '127.0.0.1:0', behindTlsProxy: true },
        // Long heartbeat and poll periods: the test moves the clock by hours, and change notifications carry the news.
        replica: { url, id, bootstrapMesh: meshFile, heartbeatMs: 10 * H, heartbeatTimeoutMs: 30 * H, meshPollMs: 10 * H },
      },
      { clock, logger: silentLogger, watch: false },
    );
    cps.push(cp);
    return cp;
  };
  const keysOf = async (cp: ControlPlane): Promise<string[]> => {
    const body = (await (await fetch(`http://${cp.oidcDiscovery!.address}/keys`)).json()) as { keys: Array<{ kid: string }> };
    return body.keys.map((k) => k.kid).sort();
  };
  /** A relying party that knows only replica B's /keys. */
  const verifyAt = (cp: ControlPlane, token: string) =>
    jwtVerify(token, createRemoteJWKSet(new URL(`http://${cp.oidcDiscovery!.address}/keys`), { cooldownDuration: 0 }), {
      issuer: ISSUER, audience: AUD, currentDate: new Date(clock.now()), algorithms: ['ES256'],
    });
  const keyIn = (cp: ControlPlane, state: 'prepared' | 'active' | 'old') => cp.ca.jwt.status().find((k) => k.state === state);

  before(async () => {
    pgServer = await startTestPostgres();
    dir = mkdtempSync(join(tmpdir(), 'tp-oidc-replicas-'));
    const meshFile = join(dir, 'mesh.yaml');
    writeFileSync(meshFile, shopMesh('PERMISSIVE'));
    const url = await pgServer.newDatabase();
    a = await start('a', url, meshFile);
    b = await start('b', url, meshFile);
  });
  after(async () => {
    for (const cp of cps) await cp.close().catch(() => {});
    await pgServer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a token minted on A verifies against B's /keys, across A's rotation", async () => {
    const kidA = keyIn(a, 'active')!.keyId;
    const kidB = keyIn(b, 'active')!.keyId;
    assert.notEqual(kidA, kidB, 'each replica signs with a key of its own');
    await eventually("both replicas' keys in both /keys", async () => (await keysOf(a)).join() === [kidA, kidB].sort().join() && (await keysOf(b)).join() === [kidA, kidB].sort().join(), 60_000);

    const first = await a.ca.jwt.mint(web, [AUD]);
    assert.equal(first.keyId, kidA);
    assert.equal((await verifyAt(b, first.token)).payload.sub, web.toString());
    // No private key in the datastore: a row is kty and the public parameters.
    const rows = await a.replica!.datastore.jwtAuthorities();
    assert.deepEqual(rows.map((r) => r.keyId).sort(), [kidA, kidB].sort());
    for (const r of rows) assert.deepEqual(Object.keys(r.publicKey).sort(), ['crv', 'kty', 'x', 'y']);

    // Half-way through the key's life A prepares its next key: it is on B's /keys while A still signs with the old.
    const activeA = keyIn(a, 'active')!;
    clock.advanceTo(activeA.notBefore.getTime() + 3 * H + 60_000);
    const nextA = keyIn(a, 'prepared')!.keyId;
    await eventually("A's prepared key on B's /keys", async () => (await keysOf(b)).includes(nextA), 60_000);
    // The same bundle B serves over SDS, the Workload API and the bundle endpoint (its identity store's).
    assert.ok(b.store.getBundle(TD)!.findJwtAuthority(nextA), "A's prepared key in B's served bundle");
    assert.equal((await a.ca.jwt.mint(web, [AUD])).keyId, kidA, 'a prepared key does not sign');

    // Just before activation the old key signs one more token.
    clock.advanceTo(activeA.notBefore.getTime() + 5 * H - 60_000);
    const lastOfOld = await a.ca.jwt.mint(web, [AUD]);
    assert.equal(lastOfOld.keyId, kidA);

    // At 5/6 of the key's life A's next key signs (at the latest a publish lead after the datastore took it, which
    // may have been told to A after B saw it), and B's /keys verifies it; the old key's token still verifies.
    clock.advanceTo(activeA.notBefore.getTime() + 5 * H + a.ca.jwt.publishLeadMs);
    assert.equal(keyIn(a, 'active')!.keyId, nextA);
    const second = await a.ca.jwt.mint(web, [AUD]);
    assert.equal(second.keyId, nextA);
    assert.equal((await verifyAt(b, second.token)).payload.sub, web.toString());
    assert.equal((await verifyAt(b, lastOfOld.token)).payload.sub, web.toString(), "the old key stays while a token it signed is valid");

    // Once the old key's last token expired, A drops it and so does B's /keys.
    clock.advanceTo(lastOfOld.expiresAt.getTime() + 1000);
    await eventually("A's rotated key gone from B's /keys", async () => !(await keysOf(b)).includes(kidA), 60_000);
    assert.ok((await keysOf(b)).includes(nextA));
  });

  test("a dead replica's key stays on the others' /keys until it expired", async () => {
    const deadKid = keyIn(a, 'active')!.keyId;
    const token = await a.ca.jwt.mint(web, [AUD]);
    const notAfter = keyIn(a, 'active')!.notAfter.getTime();
    await a.replica!.close({ releaseLease: false });
    await a.close();
    cps.splice(cps.indexOf(a), 1);
    // Later polls of B still publish it, and its token verifies.
    clock.advance(60_000);
    assert.ok((await keysOf(b)).includes(deadKid));
    assert.equal((await verifyAt(b, token.token)).payload.sub, web.toString());
    clock.advanceTo(notAfter + 1000);
    await eventually("the dead replica's expired key gone from B's /keys", async () => !(await keysOf(b)).includes(deadKid), 60_000);
    assert.ok(!(await b.replica!.datastore.jwtAuthorities()).some((r) => r.keyId === deadKid), 'and from the datastore');
  });
  test('PostgreSQL down while C prepares a key: C goes on signing with its current key, and the new one signs only after it reached D', async (t) => {
    if (pgServer.external) {
      t.diagnostic('TRUSTPLANE_TEST_PG_URL: an external server is not stopped by the tests');
      return;
    }
    const meshFile = join(dir, 'mesh.yaml');
    const url = await pgServer.newDatabase();
    const c = await start('c', url, meshFile);
    const d = await start('d', url, meshFile);
    const current = keyIn(c, 'active')!;
    await eventually("C's key on D's /keys", async () => (await keysOf(d)).includes(current.keyId), 60_000);

    await pgServer.stop();
    clock.advanceTo(current.notBefore.getTime() + 3 * H + 60_000);
    const next = keyIn(c, 'prepared')!.keyId;
    // Past the schedule's activation: the datastore never took the new key, so D could not verify it; C keeps the old.
    clock.advanceTo(current.notBefore.getTime() + 5 * H + 60_000);
    assert.equal((await c.ca.jwt.mint(web, [AUD])).keyId, current.keyId);
    assert.ok(!(await keysOf(d)).includes(next));

    await pgServer.start();
    // C's next poll finds the datastore back and publishes what it could not; until D has the key, C never signs
    // with it, and a publish lead after the datastore took it, C does.
    let token = await c.ca.jwt.mint(web, [AUD]);
    for (let i = 0; token.keyId !== next; i++) {
      assert.ok(i < 600, "C never signed with its prepared key after the datastore came back");
      if (!(await keysOf(d)).includes(next)) assert.equal(token.keyId, current.keyId, 'C signed with a key D does not publish');
      clock.advance(5_000);
      await new Promise((ok) => setTimeout(ok, 100));
      token = await c.ca.jwt.mint(web, [AUD]);
    }
    assert.equal((await verifyAt(d, token.token)).payload.sub, web.toString());
  });
});
