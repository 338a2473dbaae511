// OIDC discovery configuration: the issuer's form, the explicit choice between HTTPS and plain HTTP behind a
// proxy, and the plain-HTTP mode serving the same documents.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { discoveryDocument, jwksMaxAgeSeconds, parseIssuer, servedPaths } from '../../src/oidc/discovery.js';
import { silentLogger } from '../../src/observe/log.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { SpiffeId } from '../../src/spiffe/id.js';
import { cli } from '../cli/run.js';

describe('OIDC discovery configuration', () => {
  const badIssuers: Array<[string, RegExp]> = [
    ['http://oidc.example.org', /must use https/],
    ['https://oidc.example.org/', /must not end with "\/"/],
    ['https://oidc.example.org?x=1', /no query or fragment/],
    ['https://user@oidc.example.org', /no user information/],
    ['oidc.example.org', /not a URL/],
  ];
  for (const [issuer, says] of badIssuers) {
    test(`refuses the issuer ${issuer}`, () => {
      assert.throws(() => parseIssuer(issuer), (e: unknown) => (e as { code?: string }).code === 'OIDC_ISSUER_INVALID' && says.test((e as Error).message));
    });
  }

  test('an issuer with a path serves both documents under it, and jwks_uri follows the issuer', () => {
    const issuer = parseIssuer('https://auth.example.org/trustplane/prod');
    assert.deepEqual(servedPaths(issuer), { discovery: '/trustplane/prod/.well-known/openid-configuration', keys: '/trustplane/prod/keys' });
    assert.equal(discoveryDocument(issuer)['jwks_uri'], 'https://auth.example.org/trustplane/prod/keys');
    assert.equal(discoveryDocument(issuer)['issuer'], 'https://auth.example.org/trustplane/prod');
  });

  test('JWKS max-age: half the publish lead, at most 5 minutes', () => {
    assert.equal(jwksMaxAgeSeconds(75_000), 37);
    assert.equal(jwksMaxAgeSeconds(3600_000), 300);
  });

  test('serve: --oidc-discovery needs an issuer and an explicit TLS choice (exit 2, nothing started)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--oidc-discovery', '127.0.0.1:0'], /needs --oidc-issuer/],
      [['--oidc-discovery', '127.0.0.1:0', '--oidc-issuer', 'https://o.example.org'], /--oidc-cert and --oidc-key \(HTTPS\), or --oidc-behind-tls-proxy/],
      [['--oidc-discovery', '127.0.0.1:0', '--oidc-issuer', 'https://o.example.org', '--oidc-cert', 'c.pem'], /go together/],
      [['--oidc-behind-tls-proxy'], /go with --oidc-discovery/],
      [['--jwt-algorithm', 'HS256'], /HS256" is not supported; accepted: ES256, ES384, RS256/],
      [['--identity-source', 'workload-api:unix:///run/spire/sockets/agent.sock', '--oidc-issuer', 'https://o.example.org', '--jwt-ttl', '2m'], /--jwt-ttl, --oidc-issuer: for the embedded CA/],
    ];
    for (const [flags, says] of cases) {
      const r = await cli('serve', '--data-dir', mkdtempSync(join(tmpdir(), 'tp-oidc-cfg-')), ...flags);
      assert.notEqual(r.code, 0, flags.join(' '));
      assert.match(r.stderr, says);
    }
  });

  test('behind a TLS-terminating proxy: plain HTTP, the same https issuer, GET and HEAD only; RS256 keys verify with jose', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-oidc-http-'));
    const meshFile = join(dir, 'mesh.yaml');
    copyFileSync(join(process.cwd(), 'examples', 'mesh.yaml'), meshFile);
    const clock = new ManualClock();
    const cp = await ControlPlane.start(
      { dataDir: join(dir, 'data'), meshFile, unixSocket: '', tcpAddress: '', adminAddress: '', insecure: false, drainMs: 0, jwt: { algorithm: 'RS256' }, oidc: { issuer: 'https://oidc.example.org', address: '127.0.0.1:0', behindTlsProxy: true } },
      { clock, logger: silentLogger, watch: false },
    );
    try {
      const base = `http://${cp.oidcDiscovery!.address}`;
      const doc = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
      assert.deepEqual([doc.issuer, doc.jwks_uri], ['https://oidc.example.org', 'https://oidc.example.org/keys']);
      const keys = (await (await fetch(`${base}/keys`)).json()) as { keys: Array<Record<string, string>> };
      assert.deepEqual(keys.keys.map((k) => [k['kid'], k['use'], k['alg'], k['kty']]), [[cp.ca.jwt.status()[0]!.keyId, 'sig', 'RS256', 'RSA']]);
      const svid = await cp.ca.jwt.mint(SpiffeId.parse('spiffe://example.org/ns/shop/sa/web'), ['api://AzureADTokenExchange']);
      const v = await jwtVerify(svid.token, createRemoteJWKSet(new URL(`${base}/keys`)), { issuer: doc.issuer, audience: 'api://AzureADTokenExchange', algorithms: ['RS256'], currentDate: new Date(clock.now()) });
      assert.equal(v.payload.sub, 'spiffe://example.org/ns/shop/sa/web');
      assert.equal((await fetch(`${base}/keys`, { method: 'POST', body: 'x' })).status, 405);
    } finally {
      await cp.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
