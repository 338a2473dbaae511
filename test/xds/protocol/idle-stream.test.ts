// What an idle stream holds, counted (never measured in bytes): the xDS server's per-stream state is made lazily,
// so a SotW stream of one secret, ACKed and idle, holds no Map and no Set beyond what grpc-js holds for a bare
// stream on the same server; the pieces that would hold them (type slots, the status entries, the subscription,
// the dirty types) are checked one by one.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { queryObjects } from 'node:v8';
import { create, toBinary } from '@bufbuild/protobuf';
import { DiscoveryResponseSchema } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { PATHS, SotwClient } from './client.js';
import { startHarness, ORDERS_NODE, type Harness } from './harness.js';
import { PerType, PUSH_ORDER, TYPE_CLUSTER, TYPE_LISTENER, TYPE_SECRET } from '../../../src/xds/type-urls.js';
import { SmallMap } from '../../../src/xds/status/small-map.js';
import { SotwSubscription } from '../../../src/xds/protocol/subscriptions.js';

const BARE_PATH = '/test.Bare/Stream';
const raw = (b: Buffer): Buffer => b;

/** Live Maps and Sets (queryObjects collects garbage first). */
function liveCollections(): { maps: number; sets: number } {
  return { maps: queryObjects(Map, { format: 'count' }) as number, sets: queryObjects(Set, { format: 'count' }) as number };
}

describe('an idle stream holds no more collections than a bare grpc-js stream', () => {
  let h: Harness;
  let bare: grpc.Server;
  let bareAddress: string;
  /** Requests the bare server received; every stream sends two (the subscription, then the ACK). */
  let bareRequests = 0;
  const bareWaiters: (() => void)[] = [];
  const clients: grpc.Client[] = [];
  const calls: SotwClient[] = [];

  before(async () => {
    h = await startHarness();
    // The ceiling: a stream that answers the first request with one response and keeps nothing but the call.
    bare = new grpc.Server();
    const response = toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, { typeUrl: TYPE_SECRET, versionInfo: 'v1', nonce: '1' }));
    bare.register(BARE_PATH, (call: grpc.ServerDuplexStream<Buffer, Uint8Array>) => {
      call.once('data', () => call.write(response));
      call.on('data', () => {
        bareRequests++;
        for (const w of bareWaiters.splice(0)) w();
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    }, (b: Uint8Array) => Buffer.from(b), raw, 'bidi');
    const port = await new Promise<number>((resolve, reject) =>
      bare.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    bareAddress = `127.0.0.1:${port}`;
  });
  after(async () => {
    for (const c of calls) c.end();
    for (const c of clients) c.close();
    bare.forceShutdown();
    await h.close();
  });

  /** n streams to `address` over one connection, each subscribed to ROOTCA and ACKing the response it gets. */
  async function open(address: string, path: string, n: number, acked: (total: number) => Promise<void>): Promise<void> {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    clients.push(client);
    const md = new grpc.Metadata();
    md.set('x-test-principal', ORDERS_NODE);
    for (let i = 0; i < n; i++) {
      const s = new SotwClient(client.makeBidiStreamRequest(path, (b: Uint8Array) => Buffer.from(b), raw, md));
      calls.push(s);
      s.send({ node: { id: `idle-${i}`, cluster: 'orders' }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] });
      s.ack(await s.next(), ['ROOTCA']);
    }
    await acked(n);
  }

  /** Resolves once `total` xDS streams have ACKed ROOTCA (told by the proxy status, not polled). */
  let xdsAcked = 0;
  const xdsAcks = (total: number): Promise<void> => {
    const target = (xdsAcked += total);
    return new Promise((resolve) => {
      const check = (): boolean => {
        const synced = [...h.xds.proxies()].filter((p) => p.resource(TYPE_SECRET, 'ROOTCA')?.state === 'ACKED').length;
        if (synced < target) return false;
        resolve();
        return true;
      };
      if (check()) return;
      const off = h.xds.onStatusChange(() => {
        if (check()) off();
      });
    });
  };
  let bareTarget = 0;
  const bareAcks = (total: number): Promise<void> => {
    bareTarget += 2 * total;
    return new Promise((resolve) => {
      const check = (): void => (bareRequests >= bareTarget ? resolve() : void bareWaiters.push(check));
      check();
    });
  };

  test('K idle SotW SDS streams add as many Maps and Sets as K bare grpc-js streams', async () => {
    const K = 20;
    // One of each first: what the server makes once (the index's entry for ROOTCA, compiled paths) is not per stream.
    await open(h.address, PATHS.StreamSecrets, 1, xdsAcks);
    await open(bareAddress, BARE_PATH, 1, bareAcks);
    const c0 = liveCollections();
    await open(h.address, PATHS.StreamSecrets, K, xdsAcks);
    const c1 = liveCollections();
    await open(bareAddress, BARE_PATH, K, bareAcks);
    const c2 = liveCollections();
    assert.equal(h.xds.status().proxies.filter((p) => p.types[0]?.state === 'SYNCED').length, K + 1, 'every xDS stream is ACKed and idle');
    assert.deepEqual({ maps: c1.maps - c0.maps, sets: c1.sets - c0.sets }, { maps: c2.maps - c1.maps, sets: c2.sets - c1.sets });
  });
});

describe('per-stream state is made when needed', () => {
  test('PerType keeps the first type inline and makes slots for others only when a second type arrives', () => {
    const t = new PerType<string>();
    t.set(TYPE_SECRET, 'a');
    t.set(TYPE_SECRET, 'b');
    assert.equal(t.spilled, false);
    assert.equal(t.get(TYPE_SECRET), 'b');
    assert.equal(t.get(TYPE_LISTENER), undefined);
    t.set(TYPE_LISTENER, 'l');
    t.set(TYPE_CLUSTER, 'c');
    assert.equal(t.spilled, true);
    assert.deepEqual([...t.entries()], PUSH_ORDER.filter((u) => [TYPE_SECRET, TYPE_LISTENER, TYPE_CLUSTER].includes(u)).map((u) => [u, u === TYPE_SECRET ? 'b' : u === TYPE_LISTENER ? 'l' : 'c']));
    assert.throws(() => t.set('type.googleapis.com/unknown', 'x'), RangeError);
  });

  test('SmallMap holds one entry inline and makes a Map at the second key', () => {
    const m = new SmallMap<number>();
    assert.deepEqual([...m.entries()], []);
    m.set('a', 1);
    m.set('a', 2);
    assert.equal(m.spilled, false);
    assert.equal(m.get('a'), 2);
    assert.equal(m.get('b'), undefined);
    assert.equal(m.delete('b'), false);
    assert.equal(m.delete('a'), true);
    assert.deepEqual([...m.entries()], []);
    m.set('b', 3);
    assert.equal(m.spilled, false);
    m.set('c', 4);
    assert.equal(m.spilled, true);
    assert.deepEqual([...m.entries()], [['b', 3], ['c', 4]]);
    assert.deepEqual([...m.values()], [3, 4]);
    assert.equal(m.delete('b'), true);
    assert.deepEqual([...m.entries()], [['c', 4]]);
  });

  test('a SotW subscription keeps its names as a list, each once, and an ACK repeating them changes nothing', () => {
    const sub = new SotwSubscription(false);
    const first = sub.update(['ROOTCA', 'default', 'ROOTCA']);
    assert.deepEqual(first, { added: ['ROOTCA', 'default'], removed: [], wildcardChanged: false });
    assert.deepEqual(sub.names, ['ROOTCA', 'default']);
    assert.ok(Array.isArray(sub.names));
    assert.deepEqual(sub.update(['ROOTCA', 'default']), { added: [], removed: [], wildcardChanged: false });
    const held = sub.names;
    assert.equal(sub.update(['ROOTCA', 'default']), sub.update(['ROOTCA', 'default']), 'a repeat answers with the one frozen "unchanged"');
    assert.equal(sub.names, held, 'a repeat keeps the list it holds');
    assert.deepEqual(sub.update(['default']), { added: [], removed: ['ROOTCA'], wildcardChanged: false });
    const wild = new SotwSubscription(true);
    assert.deepEqual(wild.update(['*', 'a']), { added: ['a'], removed: [], wildcardChanged: true });
    assert.deepEqual(wild.names, ['a'], '`*` is the wildcard, not a name');
  });
});
