// The live feed over real HTTP connections, paced by a manual clock: updates are coalesced (built once per interval
// for every client), the number of streams is bounded, a client that does not read holds at most one document
// and then gets the latest, and closing ends every stream.
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { ManualClock } from '../../src/clock.js';
import { LiveFeed } from '../../src/dashboard/live-feed.js';
import { SseClient } from './sse-client.js';

describe('dashboard live feed', () => {
  let clock: ManualClock;
  let builds: number;
  let payload: (n: number) => string;
  let feed: LiveFeed;
  // Pacing by build cost is off (0) where a test counts milliseconds exactly: a loaded machine must not change them.
  const newFeed = (costFactor: number) => new LiveFeed({ build: () => payload(++builds), timer: clock, maxClients: 3, minIntervalMs: 500, refreshMs: 15_000, costFactor });
  let server: Server;
  let url: string;
  const responses: ServerResponse[] = [];
  const clients: SseClient[] = [];

  const open = async (): Promise<SseClient> => {
    const c = await SseClient.open(url);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    clock = new ManualClock(Date.parse('2026-12-02T12:00:00Z'));
    builds = 0;
    payload = (n) => JSON.stringify({ n });
    feed = newFeed(0);
    server = createServer((_req, res) => {
      responses.push(res);
      if (!feed.attach(res)) res.writeHead(503).end('full\n');
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    responses.length = 0;
    feed.close();
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  });

  test('a new stream gets the document at once; a burst of changes becomes one update, sent to every stream', async () => {
    const a = await open();
    const b = await open();
    await a.until((e) => e.length === 1, 'first document');
    await b.until((e) => e.length === 1, 'first document');
    assert.equal(a.events[0]!.event, 'dashboard');
    assert.equal(builds, 2, 'one document per new stream');

    // The last update went out just now: a burst waits for the interval, then goes out once.
    for (let i = 0; i < 1000; i++) feed.changed();
    assert.equal(builds, 2, 'nothing is built while the interval runs');
    clock.advance(499);
    assert.equal(builds, 2);
    clock.advance(1);
    assert.equal(builds, 3, 'one document for 1000 changes and two clients');
    await a.until((e) => e.length === 2, 'the update');
    await b.until((e) => e.length === 2, 'the update');
    assert.deepEqual(JSON.parse(a.events[1]!.data), { n: 3 });
    assert.equal(a.events[1]!.data, b.events[1]!.data);
    assert.equal(a.events[1]!.id, b.events[1]!.id, 'the same event id on every stream');

    // Long after the last update, a change goes out at once.
    clock.advance(10_000);
    feed.changed();
    clock.advance(0);
    await a.until((e) => e.length === 3, 'the next update');
  });

  test('a costly document stretches the interval to 20 times its cost (a large mesh cannot hog the event loop)', async () => {
    let lastCost = 0;
    payload = (n) => {
      // A build that costs at least 30 ms of CPU, as a document of a very large mesh would.
      const t0 = performance.now();
      while (performance.now() - t0 < 30);
      lastCost = performance.now() - t0;
      return JSON.stringify({ n });
    };
    feed.close();
    feed = newFeed(20);
    const a = await open();
    await a.until((e) => e.length === 1, 'first document');
    const cost = lastCost;
    feed.changed();
    let waited = 0;
    while (builds === 1) {
      clock.advance(10);
      waited += 10;
    }
    assert.ok(waited >= 20 * 30, `no update sooner than 20 x 30 ms (after ${waited} ms)`);
    // The feed times the build from outside the callback: allow for that, and for the 10 ms steps.
    assert.ok(waited <= 20 * cost + 100, `the update came ${waited} ms after, for a build of ${cost.toFixed(1)} ms`);
    await a.until((e) => e.length === 2, 'the update');
  });

  test('an open page is refreshed even when nothing changes (relative times, expiry highlights)', async () => {
    const a = await open();
    await a.until((e) => e.length === 1, 'first document');
    clock.advance(15_000);
    await a.until((e) => e.length === 2, 'the refresh');
    a.close();
    await new Promise<void>((ok) => responses[0]!.once('close', ok));
    assert.equal(feed.clients, 0);
    const before = builds;
    clock.advance(60_000);
    assert.equal(builds, before, 'no work while no page is open');
  });

  test('at most maxClients streams; a closed one frees its place', async () => {
    const open3 = [await open(), await open(), await open()];
    for (const c of open3) await c.until((e) => e.length === 1, 'first document');
    const refused = await SseClient.open(url);
    assert.equal(refused.res.statusCode, 503);
    await refused.end();
    assert.equal(feed.clients, 3);
    open3[0]!.close();
    await new Promise<void>((ok) => responses[0]!.once('close', ok));
    const again = await open();
    assert.equal(again.res.statusCode, 200);
    await again.until((e) => e.length === 1, 'first document');
  });

  test('a stream that does not read holds at most one document, then gets the latest one', async () => {
    payload = (n) => JSON.stringify({ n, pad: 'x'.repeat(1 << 20) });
    const slow = await open();
    const fast = await open();
    await fast.until((e) => e.length === 1, 'first document');
    slow.res.pause();
    const res = responses[0]!;
    let maxQueued = 0;
    for (let i = 0; i < 20; i++) {
      feed.changed();
      clock.advance(500);
      maxQueued = Math.max(maxQueued, res.writableLength);
      await fast.until((e) => e.length === i + 2, `update ${i + 1}`);
    }
    const last = builds;
    assert.ok(maxQueued <= 2.5 * (1 << 20), `at most about one document queued for the stalled stream (${maxQueued} bytes)`);
    slow.res.resume();
    await slow.until((e) => e.some((x) => (JSON.parse(x.data) as { n: number }).n === last), 'the latest document');
    assert.ok(slow.events.length < 10, `the stalled stream skipped what it missed (${slow.events.length} events for ${last} builds)`);
  });

  test('close ends every stream and takes no more', async () => {
    const a = await open();
    await a.until((e) => e.length === 1, 'first document');
    feed.close();
    await a.end();
    const late = await SseClient.open(url);
    assert.equal(late.res.statusCode, 503);
    await late.end();
  });
});
