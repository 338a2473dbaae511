import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/clock.js';
import { JoinTokenStore } from '../../../src/xds/node-attest/join-token-store.js';
import { parseTtl, JoinTokenError } from '../../../src/xds/node-attest/join-token.js';
import { createJoinToken, joinTokenDir } from '../../../src/xds/node-attest/token-command.js';

async function freshStore(): Promise<{ store: JoinTokenStore; clock: ManualClock; dir: string }> {
  const dir = join(await mkdtemp(join(tmpdir(), 'tp-jt-')), 'join-tokens');
  const clock = new ManualClock(Date.now());
  return { store: new JoinTokenStore(dir, clock), clock, dir };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof JoinTokenError, `expected JoinTokenError, got ${String(e)}`);
    return e.code;
  }
  return 'NO_ERROR';
}

describe('join tokens', () => {
  test('a fresh token admits its node once, then reports reuse', async () => {
    const { store } = await freshStore();
    const { token } = await store.create('edge-1', 600_000);
    assert.deepEqual(await store.consume(token), { node: 'edge-1' });
    assert.equal(await codeOf(store.consume(token)), 'JOIN_TOKEN_USED');
  });

  test('an expired token is denied as expired, whether spent or not', async () => {
    const { store, clock } = await freshStore();
    const a = await store.create('edge-1', 600_000);
    const b = await store.create('edge-2', 600_000);
    await store.consume(b.token);
    clock.advance(600_000);
    assert.equal(await codeOf(store.consume(a.token)), 'JOIN_TOKEN_EXPIRED');
    assert.equal(await codeOf(store.consume(b.token)), 'JOIN_TOKEN_EXPIRED');
  });

  test('a token one millisecond before expiry is still accepted', async () => {
    const { store, clock } = await freshStore();
    const { token } = await store.create('edge-1', 600_000);
    clock.advance(599_999);
    assert.deepEqual(await store.consume(token), { node: 'edge-1' });
  });

  const denied: Array<[string, string, string]> = [
    ['a well-formed token never created', 'tpjt_' + 'A'.repeat(43), 'JOIN_TOKEN_UNKNOWN'],
    ['a token without the prefix', 'A'.repeat(48), 'JOIN_TOKEN_MALFORMED'],
    ['an empty token', '', 'JOIN_TOKEN_MALFORMED'],
    ['a path traversal attempt', 'tpjt_../../../../etc/passwd', 'JOIN_TOKEN_MALFORMED'],
  ];
  for (const [name, token, code] of denied) {
    test(`${name} is denied with ${code}`, async () => {
      const { store } = await freshStore();
      await store.create('edge-1', 600_000);
      assert.equal(await codeOf(store.consume(token)), code);
    });
  }

  test('two concurrent consumers of one token: exactly one wins', async () => {
    const { store, clock, dir } = await freshStore();
    const { token } = await store.create('edge-1', 600_000);
    const other = new JoinTokenStore(dir, clock); // as a second process would
    const results = await Promise.allSettled([store.consume(token), other.consume(token), store.consume(token)]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as JoinTokenError).code, 'JOIN_TOKEN_USED');
  });

  test('the data directory holds only a hash of the token, in 0600 files under a 0700 directory', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tp-data-'));
    const clock = new ManualClock(Date.now());
    const created = await createJoinToken({ dataDir, node: 'edge-1', ttl: '10m', clock });
    const dir = joinTokenDir(dataDir);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const files = await readdir(dir);
    assert.equal(files.length, 1);
    const file = join(dir, files[0]!);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const content = await readFile(file, 'utf8');
    assert.ok(!content.includes(created.token) && !files[0]!.includes(created.token.slice(5)));
    assert.equal(created.expiresAt.getTime(), clock.now() + 600_000, 'expires exactly --ttl after creation');
  });

  test('expired records are pruned when a new token is created', async () => {
    const { store, clock, dir } = await freshStore();
    const old = await store.create('edge-1', 60_000);
    await store.consume(old.token);
    await store.create('edge-2', 60_000);
    clock.advance(60_000);
    await store.create('edge-3', 60_000);
    assert.equal((await readdir(dir)).length, 1);
  });

  test('a node name that cannot be a SPIFFE path segment is refused at creation', async () => {
    const { store } = await freshStore();
    await assert.rejects(store.create('../root', 60_000), { code: 'NODE_NAME_INVALID' });
  });
});

describe('parseTtl', () => {
  const ok: Array<[string, number]> = [['90s', 90_000], ['10m', 600_000], ['1h', 3_600_000], ['24h', 86_400_000]];
  for (const [ttl, ms] of ok) test(`${ttl} is ${ms} ms`, () => assert.equal(parseTtl(ttl), ms));
  for (const bad of ['0m', '25h', '10', '10d', '-1m', 'ten minutes']) {
    test(`${JSON.stringify(bad)} is refused`, () => assert.throws(() => parseTtl(bad), { code: 'JOIN_TOKEN_TTL_INVALID' }));
  }
});
