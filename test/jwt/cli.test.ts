// trustplane jwt mint / jwt verify against a data directory: exit 0, or exit 1 with the exact reason and code.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { join } from 'node:path';
import { cli } from '../cli/run.js';
import { partsOf, tempDir } from './fixtures.js';

describe('trustplane jwt', () => {
  test('mint prints one token; verify accepts it for its audience and refuses with the reason otherwise', async () => {
    const data = tempDir();
    const m = await cli('jwt', 'mint', '--spiffe-id', 'spiffe://example.org/web', '--audience', 'orders', '--issuer', 'https://oidc.example.org', '--data-dir', data);
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const token = m.stdout.trim();
    const [header, claims] = partsOf(token);
    assert.equal(header['alg'], 'ES256');
    assert.equal(claims['iss'], 'https://oidc.example.org');
    assert.equal((claims['exp'] as number) - (claims['iat'] as number), 300);

    const ok = await cli('jwt', 'verify', '--audience', 'orders', '--data-dir', data, token);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^valid: spiffe:\/\/example\.org\/web \(aud orders; kid [\w-]+; expires /);

    const refusals: Array<[string[], RegExp]> = [
      [['--audience', 'billing'], /audience does not include "billing" \[JWT_AUD_MISMATCH\]/],
      [['--audience', 'orders', '--at', new Date(Date.now() + 3600_000).toISOString()], /expired at .* \[JWT_EXPIRED\]/],
      [['--audience', 'orders', '--trust-domain', 'other.org'], /only other\.org is accepted \[JWT_TRUST_DOMAIN_UNTRUSTED\]/],
    ];
    for (const [flags, says] of refusals) {
      const r = await cli('jwt', 'verify', ...flags, '--data-dir', data, token);
      assert.equal(r.code, 1, flags.join(' '));
      assert.match(r.stderr, says);
      assert.ok(!r.stderr.includes('    at '), 'no stack trace');
    }
    // A key of another data directory (another CA) is unknown here.
    const other = tempDir();
    const foreign = (await cli('jwt', 'mint', '--spiffe-id', 'spiffe://example.org/web', '--audience', 'orders', '--data-dir', other)).stdout.trim();
    const r = await cli('jwt', 'verify', '--audience', 'orders', '--data-dir', data, foreign);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\[JWT_KID_UNKNOWN\]/);
    // ...and valid with that domain's bundle file (SPIFFE bundle JSON from `bundle show --format spiffe`).
    const bundle = await cli('bundle', 'show', '--format', 'spiffe', '--trust-domain', 'example.org', '--data-dir', other);
    const file = join(other, 'bundle.json');
    writeFileSync(file, bundle.stdout);
    const empty = tempDir();
    const withBundle = await cli('jwt', 'verify', '--audience', 'orders', '--data-dir', empty, '--bundle', `example.org=${file}`, foreign);
    assert.equal(withBundle.code, 0, withBundle.stderr);
  });

  test('verify against a running server: its JWKS by URL (the admin endpoint); an unreachable one is a clear error', async () => {
    const dir = tempDir();
    copyFileSync(join(process.cwd(), 'examples', 'mesh.yaml'), join(dir, 'mesh.yaml'));
    const cp = await ControlPlane.start(
      { dataDir: join(dir, 'data'), meshFile: join(dir, 'mesh.yaml'), unixSocket: '', tcpAddress: '', adminAddress: '127.0.0.1:0', insecure: false, drainMs: 0 },
      { logger: silentLogger, watch: false },
    );
    try {
      const token = (await cp.ca.jwt.mint(SpiffeId.parse('spiffe://example.org/ns/shop/sa/web'), ['orders'])).token;
      const url = `http://${cp.adminAddress}/jwt/keys/example.org`;
      const ok = await cli('jwt', 'verify', '--audience', 'orders', '--data-dir', tempDir(), '--jwks', `example.org=${url}`, token);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^valid: spiffe:\/\/example\.org\/ns\/shop\/sa\/web/);
      const other = await cli('jwt', 'verify', '--audience', 'orders', '--data-dir', tempDir(), '--jwks', `other.org=${url.replace('example.org', 'other.org')}`, token);
      assert.equal(other.code, 1);
      assert.match(other.stderr, /answered HTTP 404 \[JWKS_FETCH_FAILED\]/);
    } finally {
      await cp.close();
    }
    const down = await cli('jwt', 'verify', '--audience', 'orders', '--data-dir', tempDir(), '--jwks', 'example.org=http://127.0.0.1:2/keys', 'a.b.c');
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot fetch http:\/\/127\.0\.0\.1:2\/keys: ECONNREFUSED \[JWKS_FETCH_FAILED\]/);
  });

  test('refusals before any token: no audience (exit 2), a TTL over the maximum (exit 1), nothing to verify with (exit 2)', async () => {
    const data = tempDir();
    assert.equal((await cli('jwt', 'mint', '--spiffe-id', 'spiffe://example.org/web', '--data-dir', data)).code, 2);
    const long = await cli('jwt', 'mint', '--spiffe-id', 'spiffe://example.org/web', '--audience', 'a', '--ttl', '2h', '--data-dir', data);
    assert.equal(long.code, 1);
    assert.match(long.stderr, /hard maximum\), got 7200000 \[JWT_MINT_INVALID\]/);
    const none = await cli('jwt', 'verify', '--audience', 'a', '--data-dir', tempDir(), 'a.b.c');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no JWT authorities/);
  });
});
