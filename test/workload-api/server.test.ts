// The Workload API server against a client written from the spec (spec-wire.ts: its own wire codec and raw
// grpc-js calls): the security header rule, the full state at once and an update on every SVID rotation, CA
// rotation and federated bundle change, PermissionDenied for a caller with no identity, per-uid sockets.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { X509Bundle } from '../../src/spiffe/bundle.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import {
  decodeJwtBundlesResponse,
  decodeJwtSvidResponse,
  decodeValidateJwtSvidResponse,
  encodeJwtSvidRequest,
  encodeValidateJwtSvidRequest,
  header,
  PATH,
  SpecClient,
  splitDer,
  type SpecX509SvidResponse,
} from './spec-wire.js';
import { PARTNER_TD, startFixture, TD, type Fixture } from './fixture.js';

const ORDERS = `spiffe://${TD}/ns/shop/sa/orders`;
const AUDIT = `spiffe://${TD}/ns/shop/sa/audit`;
const BILLING = `spiffe://${TD}/ns/billing/sa/billing`;
const ROOT = 0;
const UID_A = 4101;
const UID_NONE = 4102;

const isRoot = process.getuid?.() === 0;

function expectStatus(p: Promise<unknown>, code: grpc.status, pattern?: RegExp): Promise<void> {
  return p.then(
    () => assert.fail(`expected ${grpc.status[code]}`),
    (e: grpc.ServiceError) => {
      assert.equal(e.code, code, `expected ${grpc.status[code]}, got ${grpc.status[e.code]}: ${e.details}`);
      if (pattern) assert.match(e.details, pattern);
    },
  );
}

/** Checks one X509SVID entry the way a workload would use it: chain, key, bundle. */
function checkSvid(s: SpecX509SvidResponse['svids'][number], bundle: readonly X509Certificate[], spiffeId: string): X509Certificate {
  assert.equal(s.spiffeId, spiffeId);
  const chain = splitDer(s.x509Svid).map((d) => new X509Certificate(d));
  const leaf = chain[0]!;
  assert.equal(leaf.subjectAltName, `URI:${spiffeId}`);
  const roots = splitDer(s.bundle).map((d) => new X509Certificate(d));
  assert.deepEqual(roots.map((c) => c.fingerprint256).sort(), bundle.map((c) => c.fingerprint256).sort());
  assert.ok(roots.some((r) => leaf.verify(r.publicKey)), 'the leaf is signed by a certificate of the bundle');
  const key = createPrivateKey({ key: s.x509SvidKey, format: 'der', type: 'pkcs8' });
  assert.ok(leaf.checkPrivateKey(key), 'x509_svid_key is the PKCS#8 DER key of the leaf');
  return leaf;
}

describe('Workload API server, spec client', () => {
  let f: Fixture;
  let client: SpecClient;
  before(async () => {
    f = await startFixture({ grants: { [ROOT]: [ORDERS, AUDIT], [UID_A]: [BILLING], [UID_NONE]: [] }, uids: isRoot ? [UID_A, UID_NONE] : [] });
    client = new SpecClient(f.socket(process.getuid?.() ?? ROOT));
  });
  after(async () => {
    client.close();
    await f.close();
  });

  for (const [name, value] of [['absent', null], ['"True"', 'True'], ['"false"', 'false'], ['empty', '']] as const) {
    test(`the security header ${name}: InvalidArgument on every method, nothing sent`, async () => {
      const sent = f.sent;
      await expectStatus(client.fetchX509Svid(header(value)).next(), grpc.status.INVALID_ARGUMENT, /workload\.spiffe\.io/);
      await expectStatus(client.fetchX509Bundles(header(value)).next(), grpc.status.INVALID_ARGUMENT, /workload\.spiffe\.io/);
      await expectStatus(client.unary(PATH.FetchJWTSVID, Buffer.alloc(0), header(value)), grpc.status.INVALID_ARGUMENT);
      await expectStatus(client.unary(PATH.ValidateJWTSVID, Buffer.alloc(0), header(value)), grpc.status.INVALID_ARGUMENT);
      await expectStatus(client.rawStream(PATH.FetchWITSVID, Buffer.alloc(0), header(value)).next(), grpc.status.INVALID_ARGUMENT);
      assert.equal(f.sent, sent);
    });
  }

  test('FetchX509SVID: every granted identity, default first, DER chain + PKCS#8 key + own bundle, federated bundle keyed spiffe://td', async () => {
    const stream = client.fetchX509Svid();
    const r = await stream.next();
    stream.cancel();
    const own = f.ca.bundle().x509Authorities;
    assert.deepEqual(r.svids.map((s) => s.spiffeId), [ORDERS, AUDIT]);
    checkSvid(r.svids[0]!, own, ORDERS);
    checkSvid(r.svids[1]!, own, AUDIT);
    assert.deepEqual(Object.keys(r.federatedBundles), [`spiffe://${PARTNER_TD}`]);
    assert.deepEqual(splitDer(r.federatedBundles[`spiffe://${PARTNER_TD}`]!), f.partnerCa.bundle().x509Authorities.map((c) => c.raw));
    assert.equal(r.svids[0]!.hint, '');
  });

  test('FetchX509Bundles: the own bundle and the federated one', async () => {
    const stream = client.fetchX509Bundles();
    const r = await stream.next();
    stream.cancel();
    assert.deepEqual(Object.keys(r.bundles).sort(), [`spiffe://${TD}`, `spiffe://${PARTNER_TD}`].sort());
    assert.deepEqual(splitDer(r.bundles[`spiffe://${TD}`]!), f.ca.bundle().x509Authorities.map((c) => c.raw));
  });

  test('an SVID rotation sends the full state again, once, with the new SVID', async () => {
    const stream = client.fetchX509Svid();
    const first = await stream.next();
    const serial = (r: SpecX509SvidResponse, i: number): string => new X509Certificate(splitDer(r.svids[i]!.x509Svid)[0]!).serialNumber;
    // Renewal falls due at half the SVID lifetime (jitter pinned); both identities renew at the same instant.
    f.clock.advance(f.ca.svidTtlMs / 2 + 1);
    const next = await stream.next();
    assert.deepEqual(next.svids.map((s) => s.spiffeId), [ORDERS, AUDIT], 'the full set, not only what changed');
    assert.notEqual(serial(next, 0), serial(first, 0));
    assert.notEqual(serial(next, 1), serial(first, 1));
    checkSvid(next.svids[0]!, f.ca.bundle().x509Authorities, ORDERS);
    assert.equal(stream.buffered, 0, 'one update for one burst of renewals');
    stream.cancel();
  });

  test('a CA rotation reaches both stream kinds: the new CA in the bundle', async () => {
    const svids = client.fetchX509Svid();
    const bundles = client.fetchX509Bundles();
    await svids.next();
    await bundles.next();
    f.ca.rotateNow();
    const active = f.ca.status().find((a) => a.state === 'active')!.certificate;
    // The new CA is published first (SVIDs signed by the old one stay valid and in use)...
    const r = await svids.next();
    assert.ok(splitDer(r.svids[0]!.bundle).some((d) => d.equals(active.raw)), 'the new CA is in the bundle');
    assert.ok(!new X509Certificate(splitDer(r.svids[0]!.x509Svid)[0]!).verify(active.publicKey), 'the SVIDs are not renewed yet');
    const b = await bundles.next();
    assert.ok(splitDer(b.bundles[`spiffe://${TD}`]!).some((d) => d.equals(active.raw)));
    // ...and the next renewal is signed by the new CA.
    f.clock.advance(f.ca.svidTtlMs / 2 + 1);
    const renewed = await svids.next();
    assert.ok(new X509Certificate(splitDer(renewed.svids[0]!.x509Svid)[0]!).verify(active.publicKey), 'renewed by the new CA');
    svids.cancel();
    bundles.cancel();
  });

  test('a federated bundle change and removal are sent; removal is a redaction (the key disappears)', async () => {
    const stream = client.fetchX509Svid();
    await stream.next();
    f.partnerCa.rotateNow();
    f.store.setBundle(f.partnerCa.bundle());
    const changed = await stream.next();
    assert.deepEqual(splitDer(changed.federatedBundles[`spiffe://${PARTNER_TD}`]!), f.partnerCa.bundle().x509Authorities.map((c) => c.raw));
    f.store.removeBundle(PARTNER_TD);
    const removed = await stream.next();
    assert.deepEqual(removed.federatedBundles, {});
    f.store.setBundle(new X509Bundle(TrustDomain.parse(PARTNER_TD), f.partnerCa.bundle().x509Authorities));
    assert.deepEqual(Object.keys((await stream.next()).federatedBundles), [`spiffe://${PARTNER_TD}`]);
    stream.cancel();
  });

  test('a caller whose grants are withdrawn gets PermissionDenied on its open stream', async () => {
    const own = process.getuid?.() ?? ROOT;
    const stream = client.fetchX509Svid();
    await stream.next();
    const saved = f.grants.get(own)!;
    f.grants.set(own, [AUDIT]);
    f.server.grantsChanged();
    assert.deepEqual((await stream.next()).svids.map((s) => s.spiffeId), [AUDIT], 'a narrower grant is a redaction');
    f.grants.set(own, []);
    f.server.grantsChanged();
    await expectStatus(stream.next(), grpc.status.PERMISSION_DENIED, /no identity/);
    f.grants.set(own, saved);
  });

  test('the WIT-SVID profile (optional in the spec) answers Unimplemented', async () => {
    await expectStatus(client.rawStream(PATH.FetchWITSVID, Buffer.alloc(0)).next(), grpc.status.UNIMPLEMENTED);
    await expectStatus(client.rawStream(PATH.FetchWITBundles, Buffer.alloc(0)).next(), grpc.status.UNIMPLEMENTED);
  });

  test('FetchJWTSVID: a token per granted identity, verified by jose against the JWK Set that FetchJWTBundles serves', async () => {
    const svids = decodeJwtSvidResponse(await client.unary(PATH.FetchJWTSVID, encodeJwtSvidRequest(['https://api.example.com', 'audit'])));
    assert.deepEqual(svids.map((s) => s.spiffeId), [ORDERS, AUDIT]);
    const bundles = client.rawStream(PATH.FetchJWTBundles, Buffer.alloc(0));
    const docs = decodeJwtBundlesResponse(await bundles.next());
    bundles.cancel();
    assert.deepEqual(Object.keys(docs).sort(), [`spiffe://${TD}`, `spiffe://${PARTNER_TD}`].sort());
    const jwks = createLocalJWKSet(JSON.parse(docs[`spiffe://${TD}`]!.toString('utf8')) as JSONWebKeySet);
    for (const s of svids) {
      const { payload, protectedHeader } = await jwtVerify(s.svid, jwks, { audience: 'audit' });
      assert.equal(payload.sub, s.spiffeId);
      assert.deepEqual(payload.aud, ['https://api.example.com', 'audit']);
      assert.ok(protectedHeader.kid);
      assert.ok(payload.exp! > payload.iat!);
    }
  });

  test('FetchJWTSVID: one named identity; one not granted is PermissionDenied; no audience is InvalidArgument', async () => {
    const one = decodeJwtSvidResponse(await client.unary(PATH.FetchJWTSVID, encodeJwtSvidRequest(['a'], AUDIT)));
    assert.deepEqual(one.map((s) => s.spiffeId), [AUDIT]);
    await expectStatus(client.unary(PATH.FetchJWTSVID, encodeJwtSvidRequest(['a'], BILLING)), grpc.status.PERMISSION_DENIED, /may not hold/);
    await expectStatus(client.unary(PATH.FetchJWTSVID, encodeJwtSvidRequest([])), grpc.status.INVALID_ARGUMENT, /audience/);
  });

  test('ValidateJWTSVID: the SPIFFE ID and the claims of a good token; a wrong audience or a tampered token refused with the reason', async () => {
    const [s] = decodeJwtSvidResponse(await client.unary(PATH.FetchJWTSVID, encodeJwtSvidRequest(['billing-api'], ORDERS)));
    const ok = decodeValidateJwtSvidResponse(await client.unary(PATH.ValidateJWTSVID, encodeValidateJwtSvidRequest('billing-api', s!.svid)));
    assert.equal(ok.spiffeId, ORDERS);
    assert.equal(ok.claims['sub'], ORDERS);
    assert.equal(ok.claims['aud'], 'billing-api');
    assert.equal(typeof ok.claims['exp'], 'number');
    await expectStatus(client.unary(PATH.ValidateJWTSVID, encodeValidateJwtSvidRequest('other-api', s!.svid)), grpc.status.INVALID_ARGUMENT, /audience/i);
    const [h, p, sig] = s!.svid.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: AUDIT })).toString('base64url');
    await expectStatus(client.unary(PATH.ValidateJWTSVID, encodeValidateJwtSvidRequest('billing-api', `${h}.${forged}.${sig}`)), grpc.status.INVALID_ARGUMENT, /signature/i);
    await expectStatus(client.unary(PATH.ValidateJWTSVID, encodeValidateJwtSvidRequest('billing-api', '')), grpc.status.INVALID_ARGUMENT, /svid must be specified/);
  });

  test('FetchJWTBundles streams a JWT key rotation: the new key is published', async () => {
    const stream = client.rawStream(PATH.FetchJWTBundles, Buffer.alloc(0));
    const kids = (b: Buffer): string[] => (JSON.parse(decodeJwtBundlesResponse(b)[`spiffe://${TD}`]!.toString('utf8')) as JSONWebKeySet).keys.map((k) => k.kid!).sort();
    const before = kids(await stream.next());
    f.ca.jwt.rotateNow();
    const after = kids(await stream.next());
    assert.ok(after.length > before.length && before.every((k) => after.includes(k)), `new key published beside the old (${before} -> ${after})`);
    stream.cancel();
  });

  describe('per-uid sockets (as root)', () => {
    const CHILD = fileURLToPath(new URL('./uid-client.js', import.meta.url));
    const runAs = (uid: number, socket: string): Promise<{ connect: string; spiffeIds?: string[]; status?: { code: number; details: string } }> =>
      new Promise((ok, fail) =>
        execFile(process.execPath, [CHILD, socket], { uid, gid: uid, cwd: '/' }, (err, stdout, stderr) => (err ? fail(new Error(`${err.message}: ${stderr}`)) : ok(JSON.parse(stdout) as never))),
      );
    before(async () => {
      if (!isRoot) throw new Error('the per-uid socket tests run as root: they give sockets to other users and run clients as them');
      // The test's temp directory must be traversable for the children; the socket modes decide the rest.
      await chmod(f.dir, 0o755);
    });

    test('a uid on its own socket gets its identities and no other', async () => {
      const r = await runAs(UID_A, f.socket(UID_A));
      assert.equal(r.connect, 'OK');
      assert.deepEqual(r.spiffeIds, [BILLING]);
    });

    test("a uid on another uid's socket is refused by the kernel", async () => {
      const r = await runAs(UID_NONE, f.socket(UID_A));
      assert.equal(r.connect, 'EACCES');
      assert.equal(r.spiffeIds, undefined);
    });

    test('a caller with no identity gets PermissionDenied, on every method', async () => {
      const r = await runAs(UID_NONE, f.socket(UID_NONE));
      assert.equal(r.connect, 'OK');
      assert.equal(r.status?.code, grpc.status.PERMISSION_DENIED);
      const c = new SpecClient(f.socket(UID_NONE));
      await expectStatus(c.fetchX509Bundles().next(), grpc.status.PERMISSION_DENIED);
      await expectStatus(c.unary(PATH.FetchJWTSVID, encodeJwtSvidRequest(['a'])), grpc.status.PERMISSION_DENIED);
      await expectStatus(c.rawStream(PATH.FetchJWTBundles, Buffer.alloc(0)).next(), grpc.status.PERMISSION_DENIED);
      c.close();
    });
  });
});

describe('Workload API server: bounds', () => {
  test('a caller cannot open more than its share of streams; another caller is not affected', async () => {
    if (!isRoot) throw new Error('runs as root: it opens the socket of another uid');
    const f = await startFixture({ grants: { [ROOT]: [ORDERS], [UID_A]: [BILLING] }, uids: [UID_A], maxStreamsPerCaller: 2 });
    const mine = new SpecClient(f.socket(ROOT));
    const theirs = new SpecClient(f.socket(UID_A));
    try {
      const open = [mine.fetchX509Svid(), mine.fetchX509Bundles()];
      for (const s of open) await s.next();
      await expectStatus(mine.fetchX509Svid().next(), grpc.status.RESOURCE_EXHAUSTED, /at most 2/);
      const other = theirs.fetchX509Svid();
      assert.deepEqual((await other.next()).svids.map((s) => s.spiffeId), [BILLING]);
      for (const s of [...open, other]) s.cancel();
    } finally {
      mine.close();
      theirs.close();
      await f.close();
    }
  });
});

/** Turns of the event loop until `check` holds (the calls reach the issuer through real sockets); bounded. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100_000 && !check(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(check(), 'the condition never held');
}

describe('Workload API server: unary calls in progress are bounded per caller', () => {
  test('beyond the bound: ResourceExhausted; once calls finish, new ones are taken', async () => {
    const waiting: Array<() => void> = [];
    const issuer = { mint: (id: { toString(): string }) => new Promise<{ token: string }>((ok) => waiting.push(() => ok({ token: `token-of-${id.toString()}` }))) };
    const uid = process.getuid?.() ?? ROOT;
    const f = await startFixture({ grants: { [uid]: [ORDERS] }, maxCallsPerCaller: 2, jwtIssuer: issuer });
    const c = new SpecClient(f.socket(uid));
    try {
      const first = [c.unary(PATH.FetchJWTSVID, encodeJwtSvidRequest(['a'])), c.unary(PATH.FetchJWTSVID, encodeJwtSvidRequest(['a']))];
      // The third is refused only once both are in progress: wait until the issuer holds both.
      await until(() => waiting.length === 2);
      await expectStatus(c.unary(PATH.FetchJWTSVID, encodeJwtSvidRequest(['a'])), grpc.status.RESOURCE_EXHAUSTED, /at most 2/);
      for (const release of waiting.splice(0)) release();
      for (const r of await Promise.all(first)) assert.deepEqual(decodeJwtSvidResponse(r).map((s) => s.svid), [`token-of-${ORDERS}`]);
      const again = c.unary(PATH.FetchJWTSVID, encodeJwtSvidRequest(['a']));
      await until(() => waiting.length === 1);
      waiting.shift()!();
      assert.equal(decodeJwtSvidResponse(await again).length, 1);
    } finally {
      c.close();
      await f.close();
    }
  });
});

describe('Workload API server without the JWT-SVID profile', () => {
  test('the three JWT methods answer Unimplemented (after the header rule)', async () => {
    const f = await startFixture({ grants: { [process.getuid?.() ?? ROOT]: [ORDERS] }, noJwt: true });
    const c = new SpecClient(f.socket(process.getuid?.() ?? ROOT));
    try {
      await expectStatus(c.unary(PATH.FetchJWTSVID, encodeJwtSvidRequest(['a'])), grpc.status.UNIMPLEMENTED);
      await expectStatus(c.rawStream(PATH.FetchJWTBundles, Buffer.alloc(0)).next(), grpc.status.UNIMPLEMENTED);
      await expectStatus(c.unary(PATH.ValidateJWTSVID, encodeValidateJwtSvidRequest('a', 'x.y.z')), grpc.status.UNIMPLEMENTED);
      await expectStatus(c.unary(PATH.FetchJWTSVID, encodeJwtSvidRequest(['a']), header(null)), grpc.status.INVALID_ARGUMENT);
    } finally {
      c.close();
      await f.close();
    }
  });
});

