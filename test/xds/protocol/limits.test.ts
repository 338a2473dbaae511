// Issue 9's reproductions, one test each: what a caller sends is bounded, a request over a limit is refused whole
// with a status and a one-line message that names the limit, left-out names make one log line per response (not
// one per name), and what the status keeps of them is a bounded summary.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { ORDERS } from './fixtures.js';
import { PATHS } from './client.js';
import { startHarness, PAYMENTS_NODE, type Harness, type LogEntry } from './harness.js';
import { secretNames } from './helpers.js';
import { TYPE_SECRET } from '../../../src/xds/type-urls.js';
import { DEFAULT_XDS_LIMITS, LIMIT_FLAGS, resolveLimits } from '../../../src/xds/server/limits.js';
import { cli } from '../../cli/run.js';
import { LEFT_OUT_SAMPLE } from '../../../src/xds/status/proxy-status.js';
import { renderProxySecrets } from '../../../src/xds/status/status-render.js';
import { TrustplaneError } from '../../../src/errors.js';

const longestLine = (logs: readonly LogEntry[]): number => Math.max(0, ...logs.map((l) => JSON.stringify(l.obj).length + l.msg.length));
const denied = (n: number, prefix = 'x'): string[] => Array.from({ length: n }, (_, i) => `spiffe://example.org/${prefix}/${i}`);

describe('limits on what one caller may ask', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ limits: { streamsPerPrincipal: 3 } });
  });
  after(() => h.close());

  test('100,000 names in one StreamSecrets request (3 MB) are refused by the message size limit, and nothing is logged per name', async () => {
    const logsBefore = h.logs.length;
    const s = h.client.sotw(PATHS.StreamSecrets, PAYMENTS_NODE);
    s.send({ node: { id: 'big-request' }, typeUrl: TYPE_SECRET, resourceNames: denied(100_000) });
    const st = await s.status;
    assert.equal(st.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(st.details, /larger than max/);
    assert.ok(h.logs.length - logsBefore <= 2, `${h.logs.length - logsBefore} log lines`);
    assert.equal(s.responses.length, 0);
  });

  test('one name more than --xds-max-names-per-request is refused with RESOURCE_EXHAUSTED before anything is applied', async () => {
    const n = DEFAULT_XDS_LIMITS.namesPerRequest + 1;
    const s = h.client.sotw(PATHS.StreamSecrets, PAYMENTS_NODE);
    s.send({ node: { id: 'too-many' }, typeUrl: TYPE_SECRET, resourceNames: [...denied(n - 1), 'ROOTCA'] });
    const st = await s.status;
    assert.equal(st.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(st.details, `XDS_LIMIT_EXCEEDED: names in one Secret request: ${n}, over the limit of ${n - 1} (--xds-max-names-per-request)`);
    assert.equal(s.responses.length, 0, 'not even ROOTCA was answered');
    assert.equal(h.metrics.get('rejected:Secret:denied'), 0, 'no name was resolved');
    assert.ok(!h.xds.status().proxies.some((p) => p.nodeId === 'too-many'), 'the stream is gone from the status');
    assert.ok(h.metrics.get('refused:namesPerRequest') >= 1);
  });

  test('5,000 left-out names (at the limit) are answered, counted, logged as one line with a sample, and summarised in the status', async () => {
    const before = h.metrics.get('rejected:Secret:denied');
    const logsBefore = h.logs.length;
    const names = [...denied(4_000), ...Array.from({ length: 999 }, (_, i) => `not a name ${i}`), 'ROOTCA'];
    const s = h.client.sotw(PATHS.StreamSecrets, PAYMENTS_NODE);
    s.send({ node: { id: 'many-names' }, typeUrl: TYPE_SECRET, resourceNames: names });
    const r = await s.next();
    assert.deepEqual(await secretNames(r), ['ROOTCA']);
    assert.equal(h.metrics.get('rejected:Secret:denied') - before, 4_000);
    const lines = h.logs.slice(logsBefore).filter((l) => l.level === 'warn');
    assert.equal(lines.length, 1, lines.map((l) => l.msg).join('\n'));
    assert.equal(lines[0]!.msg, '4999 requested Secret names left out (denied 4000, unknown 999)');
    assert.deepEqual(lines[0]!.obj['leftOut'], { denied: 4000, unknown: 999 });
    assert.equal((lines[0]!.obj['sample'] as unknown[]).length, 5);
    const sds = h.xds.status().proxies.find((p) => p.nodeId === 'many-names')!.types[0]!;
    assert.deepEqual(sds.leftOut, { DENIED: 4000, INVALID: 999 });
    assert.equal(sds.resources.length, 1 + LEFT_OUT_SAMPLE, 'ROOTCA and a sample of the left-out names');
    assert.ok(JSON.stringify(h.xds.status()).length < 20_000);
    assert.match(renderProxySecrets(h.xds.status(), 'many-names', 0), /… and 4989 more requested names left out \(not shown\)\n$/);
    // The same names again (an ACK): nothing new to log.
    s.ack(r, names);
    s.ack(r, [...names.slice(1), 'ALL']);
    await s.next();
    assert.equal(h.logs.slice(logsBefore).filter((l) => l.level === 'warn').length, 1);
    s.end();
  });

  test('a 100 KB name is refused with INVALID_ARGUMENT, and no log line carries more than a short prefix of it', async () => {
    const logsBefore = h.logs.length;
    const s = h.client.sotw(PATHS.StreamSecrets, PAYMENTS_NODE);
    s.send({ node: { id: 'long-name' }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA', `spiffe://example.org/${'a'.repeat(100_000)}`] });
    const st = await s.status;
    assert.equal(st.code, grpc.status.INVALID_ARGUMENT);
    assert.match(st.details, /^XDS_FIELD_TOO_LONG: a requested Secret name "spiffe:\/\/example\.org\/a+…\(\d+ more chars\)" is 100021 bytes; at most 2048 are accepted \(--xds-max-name-bytes\)$/);
    assert.ok(longestLine(h.logs.slice(logsBefore)) < 1_000);
  });

  test('a 100 KB node.id is refused with INVALID_ARGUMENT and never logged whole', async () => {
    const logsBefore = h.logs.length;
    for (const path of [PATHS.StreamSecrets, PATHS.StreamAggregatedResources] as const) {
      const s = h.client.sotw(path, PAYMENTS_NODE);
      s.send({ node: { id: 'n'.repeat(100_000) }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
      const st = await s.status;
      assert.equal(st.code, grpc.status.INVALID_ARGUMENT);
      assert.match(st.details, /^XDS_FIELD_TOO_LONG: node.id "n+…\(\d+ more chars\)" is 100000 bytes; at most 1024 are accepted \(--xds-max-node-field-bytes\)$/);
    }
    await assert.rejects(h.client.fetchSecrets({ node: { cluster: 'c'.repeat(2_000) }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] }, PAYMENTS_NODE), {
      code: grpc.status.INVALID_ARGUMENT,
    });
    assert.ok(longestLine(h.logs.slice(logsBefore)) < 1_000);
  });

  test('Delta: subscriptions beyond --xds-max-subscriptions-per-stream end the stream with RESOURCE_EXHAUSTED', async () => {
    const s = h.client.delta(PATHS.DeltaSecrets, PAYMENTS_NODE);
    s.send({ node: { id: 'delta-growth' }, typeUrl: TYPE_SECRET, resourceNamesSubscribe: ['ROOTCA', ...denied(4_000, 'a')] });
    const r = await s.next();
    s.ack(r, { resourceNamesSubscribe: denied(4_000, 'b') });
    s.send({ typeUrl: TYPE_SECRET, resourceNamesSubscribe: denied(4_000, 'c') });
    const st = await s.status;
    assert.equal(st.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(st.details, 'XDS_LIMIT_EXCEEDED: names subscribed on one stream: 12001, over the limit of 10000 (--xds-max-subscriptions-per-stream)');
    assert.ok(!h.xds.status().proxies.some((p) => p.nodeId === 'delta-growth'));
  });

  test('FetchSecrets: too many names are refused too', async () => {
    await assert.rejects(h.client.fetchSecrets({ typeUrl: TYPE_SECRET, resourceNames: denied(DEFAULT_XDS_LIMITS.namesPerRequest + 1) }, PAYMENTS_NODE), {
      code: grpc.status.RESOURCE_EXHAUSTED,
    });
  });

  test('streams per principal: the one over the limit is refused; another principal is not affected; a closed stream frees its place', async () => {
    const open = [0, 1, 2].map((i) => {
      const s = h.client.sotw(PATHS.StreamSecrets, PAYMENTS_NODE);
      s.send({ node: { id: `p-${i}` }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
      return s;
    });
    for (const s of open) await s.next();
    const fourth = h.client.delta(PATHS.DeltaSecrets, PAYMENTS_NODE);
    fourth.send({ node: { id: 'p-3' }, typeUrl: TYPE_SECRET, resourceNamesSubscribe: ['ROOTCA'] });
    const st = await fourth.status;
    assert.equal(st.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(st.details, 'XDS_LIMIT_EXCEEDED: open streams of node:payments-1: 4, over the limit of 3 (--xds-max-streams-per-principal)');
    const other = h.client.sotw(PATHS.StreamSecrets, 'node:orders-1');
    other.send({ node: { id: 'o-1' }, typeUrl: TYPE_SECRET, resourceNames: [ORDERS] });
    assert.deepEqual(await secretNames(await other.next()), [ORDERS]);
    open[0]!.end();
    await open[0]!.status;
    const again = h.client.sotw(PATHS.StreamSecrets, PAYMENTS_NODE);
    again.send({ node: { id: 'p-4' }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
    assert.deepEqual(await secretNames(await again.next()), ['ROOTCA']);
    for (const s of [...open.slice(1), other, again]) s.end();
  });

  test('serve: every limit is a flag with its default in the help, and a bad value is a usage error naming it', async () => {
    const help = await cli('serve', '--help');
    for (const [k, flag] of Object.entries(LIMIT_FLAGS)) assert.match(help.stdout, new RegExp(`${flag} N\\s+default ${DEFAULT_XDS_LIMITS[k as keyof typeof LIMIT_FLAGS]}\\n`));
    const bad = await cli('serve', '--xds-max-streams-per-principal', '1.5');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^trustplane serve: --xds-max-streams-per-principal: "1.5" is not a positive whole number; see `trustplane serve --help`\n$/);
  });

  test('limits: a value that is not a positive whole number is refused with its flag named', () => {
    assert.throws(() => resolveLimits({ namesPerRequest: 0 }), (e: unknown) => e instanceof TrustplaneError && e.code === 'XDS_LIMIT_INVALID' && /--xds-max-names-per-request/.test(e.message));
    assert.equal(resolveLimits({ nameBytes: 10 }).nameBytes, 10);
  });
});
