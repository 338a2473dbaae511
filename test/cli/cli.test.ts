import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { commands } from '../../src/cli/commands/index.js';
import { parseEnvoyJson } from '../../src/envoy/strict.js';
import { cli } from './run.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tp-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('trustplane CLI', () => {
  test('every command answers --help with its usage, exit 0', async () => {
    for (const c of commands) {
      const r = await cli(...c.path, '--help');
      assert.equal(r.code, 0, c.path.join(' '));
      assert.match(r.stdout, new RegExp(`^trustplane ${c.path.join(' ')} — `));
      assert.match(r.stdout, /Usage: trustplane/);
    }
    const top = await cli('--help');
    assert.equal(top.code, 0);
    for (const c of commands) assert.ok(top.stdout.includes(`trustplane ${c.path.join(' ')}`));
  });

  test('an unknown command or flag is a usage error, exit 2', async () => {
    assert.equal((await cli('frobnicate')).code, 2);
    const r = await cli('id', 'parse', '--bogus', 'spiffe://a/b');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bogus/);
  });

  test('id parse prints the parts of a valid ID', async () => {
    const r = await cli('id', 'parse', '--json', 'spiffe://prod.example.com/ns/orders/sa/orders-sa');
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), { spiffeId: 'spiffe://prod.example.com/ns/orders/sa/orders-sa', trustDomain: 'prod.example.com', path: '/ns/orders/sa/orders-sa' });
  });

  test('id parse names what is wrong and where, exit 1', async () => {
    const r = await cli('id', 'parse', 'spiffe://prod.Example.com/x');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid character "E" at index 14/);
    assert.match(r.stderr, /\[BAD_TRUST_DOMAIN_CHAR\]/);
  });

  describe('svid mint, openssl, svid verify, bundle show', () => {
    let out: string;
    let data: string;
    before(async () => {
      out = join(dir, 'svid');
      data = join(dir, 'data');
      const r = await cli('svid', 'mint', '--spiffe-id', 'spiffe://example.org/ns/shop/sa/web', '--out', out, '--data-dir', data, '--ttl', '30m');
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr + r.logs, /PRIVATE KEY/);
    });

    test('writes svid.pem, svid_key.pem (0600) and bundle.pem', () => {
      assert.equal(statSync(join(out, 'svid_key.pem')).mode & 0o777, 0o600);
      assert.match(readFileSync(join(out, 'svid_key.pem'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
      assert.match(readFileSync(join(out, 'svid.pem'), 'utf8'), /^-----BEGIN CERTIFICATE-----/);
      assert.equal(statSync(join(data, 'ca')).mode & 0o777, 0o700);
    });

    test('openssl verify accepts the SVID against the written bundle; x509 -text shows one URI SAN, CA:FALSE, Digital Signature', () => {
      const verified = execFileSync('openssl', ['verify', '-CAfile', join(out, 'bundle.pem'), join(out, 'svid.pem')], { encoding: 'utf8' });
      assert.match(verified, /svid\.pem: OK/);
      const text = execFileSync('openssl', ['x509', '-in', join(out, 'svid.pem'), '-noout', '-text'], { encoding: 'utf8' });
      assert.deepEqual(text.match(/URI:[^\s,]+/g), ['URI:spiffe://example.org/ns/shop/sa/web']);
      assert.match(text, /CA:FALSE/);
      assert.match(text, /Digital Signature/);
      assert.doesNotMatch(text, /Certificate Sign|CRL Sign/);
    });

    test('svid verify: valid against its own trust domain bundle, exit 0', async () => {
      const r = await cli('svid', 'verify', '--bundle', `example.org=${join(out, 'bundle.pem')}`, join(out, 'svid.pem'));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /valid: spiffe:\/\/example\.org\/ns\/shop\/sa\/web/);
    });

    test('svid verify: the bundle of another trust domain does not vouch for it, exit 1 with the reason', async () => {
      const r = await cli('svid', 'verify', '--bundle', `example.net=${join(out, 'bundle.pem')}`, join(out, 'svid.pem'));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /example\.org/);
      assert.match(r.stderr, /\[NO_BUNDLE\]/);
    });

    test('svid verify: expired at --at, exit 1', async () => {
      const r = await cli('svid', 'verify', '--at', new Date(Date.now() + 2 * 3600_000).toISOString(), '--bundle', `example.org=${join(out, 'bundle.pem')}`, join(out, 'svid.pem'));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /\[EXPIRED\]/);
    });

    test('bundle show prints PEM and SPIFFE bundle JSON of the same CA', async () => {
      const pem = await cli('bundle', 'show', '--trust-domain', 'example.org', '--data-dir', data);
      assert.equal(pem.code, 0);
      assert.equal(pem.stdout, readFileSync(join(out, 'bundle.pem'), 'utf8'));
      const json = await cli('bundle', 'show', '--format', 'spiffe', '--trust-domain', 'example.org', '--data-dir', data);
      const doc = JSON.parse(json.stdout) as { keys: Array<{ use: string; x5c: string[] }>; spiffe_sequence: number };
      // One X.509 CA (x509-svid) and one JWT signing key (jwt-svid).
      assert.deepEqual(doc.keys.map((k) => k.use).sort(), ['jwt-svid', 'x509-svid']);
      assert.ok(pem.stdout.replace(/\s/g, '').includes(doc.keys.find((k) => k.use === 'x509-svid')!.x5c[0]!));
      const file = join(dir, 'bundle.json');
      writeFileSync(file, json.stdout);
      const r = await cli('svid', 'verify', '--bundle', `example.org=${file}`, join(out, 'svid.pem'));
      assert.equal(r.code, 0, r.stderr);
    });
  });

  test('token create prints a token once; only its hash is stored, 0600', async () => {
    const data = join(dir, 'tokens');
    const r = await cli('token', 'create', '--node', 'edge-1', '--ttl', '5m', '--data-dir', data, '--json');
    assert.equal(r.code, 0, r.stderr);
    const { token, node } = JSON.parse(r.stdout) as { token: string; node: string };
    assert.equal(node, 'edge-1');
    const dirMode = statSync(join(data, 'join-tokens')).mode & 0o777;
    assert.equal(dirMode, 0o700);
    const stored = execFileSync('sh', ['-c', `cat ${join(data, 'join-tokens')}/*`], { encoding: 'utf8' });
    assert.ok(!stored.includes(token), 'the token itself is never stored');
  });

  test('lint reports the example mesh findings with stable codes, and fails on an invalid mesh with file:line:col', async () => {
    const ok = await cli('lint', '--mesh', 'examples/mesh.yaml');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /TP0004 warning services\[0\]\.inbound\[0\]/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'trustDomain: example.org\nservices:\n  - name: a\n    spifeId: spiffe://example.org/a\n');
    const r = await cli('lint', '--mesh', bad);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.yaml:4:5: services\[0\]/);
    assert.match(r.stderr, /spifeId/);
  });

  test('schema prints a JSON Schema naming the top-level keys', async () => {
    const r = await cli('schema');
    const s = JSON.parse(r.stdout) as { properties: Record<string, unknown> };
    assert.ok(s.properties.trustDomain && s.properties.services);
  });

  test('bootstrap prints a bootstrap that parses strictly as an Envoy Bootstrap, logs elsewhere', async () => {
    const r = await cli('bootstrap', '--service', 'orders', '--mesh', 'examples/mesh.yaml', '--xds', 'unix:/run/tp/xds.sock');
    assert.equal(r.code, 0, r.stderr);
    const json = parseYaml(r.stdout) as { node: { cluster: string } };
    assert.equal(json.node.cluster, 'orders');
    parseEnvoyJson('envoy.config.bootstrap.v3.Bootstrap', json as never);
    assert.ok(r.stdout.includes('/run/tp/xds.sock'));
  });

  test('generate writes bootstrap, listeners and clusters per service', async () => {
    const out = join(dir, 'gen');
    const r = await cli('generate', '--mesh', 'examples/mesh.yaml', '--out', out, '--static');
    assert.equal(r.code, 0, r.stderr);
    const boot = parseYaml(readFileSync(join(out, 'web', 'bootstrap.yaml'), 'utf8')) as { static_resources: { listeners: unknown[] } };
    assert.ok(boot.static_resources.listeners.length > 0, '--static inlines listeners');
    parseEnvoyJson('envoy.config.bootstrap.v3.Bootstrap', boot as never);
    for (const f of ['listeners.yaml', 'clusters.yaml']) parseEnvoyJson('envoy.service.discovery.v3.DiscoveryResponse', parseYaml(readFileSync(join(out, 'web', f), 'utf8')) as never);
  });

  test('--sds-initial-fetch-timeout and --sds-source reach every SdsSecretConfig, the same bytes for all', async () => {
    const r = await cli('bootstrap', '--service', 'orders', '--mesh', 'examples/mesh.yaml', '--static', '--sds-initial-fetch-timeout', '15s', '--sds-source', 'cluster');
    assert.equal(r.code, 0, r.stderr);
    assert.ok((r.stdout.match(/initial_fetch_timeout: 15s/g) ?? []).length >= 4, 'the SVID and validation context of every TLS context');
    assert.doesNotMatch(r.stdout, /initial_fetch_timeout: 0s/);
    assert.match(r.stdout, /api_config_source:/, 'secrets from the xDS cluster, not ADS');
    parseEnvoyJson('envoy.config.bootstrap.v3.Bootstrap', parseYaml(r.stdout) as never);
    const bad = await cli('bootstrap', '--service', 'orders', '--mesh', 'examples/mesh.yaml', '--sds-source', 'file');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--sds-source "file" is neither ads nor cluster/);
  });
});
