// ResourceCache.stage/commit, what a reload uses instead of setSnapshot: the same checks, the same versions and
// change notices, nothing in force until commit, and a resource whose bytes are unchanged keeps its version
// without being hashed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResourceCache, type ResourceChange } from '../../../src/xds/cache/resource-cache.js';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from '../../../src/envoy/type-urls.js';
import { encodeAny } from '../../../src/xds/codec.js';
import type { ConfigTypeUrl } from '../../../src/xds/type-urls.js';

const C = CLUSTER_TYPE_URL as ConfigTypeUrl;
const L = LISTENER_TYPE_URL as ConfigTypeUrl;
const any = (typeUrl: string, text: string) => encodeAny(typeUrl, new TextEncoder().encode(text));

describe('staged groups', () => {
  test('equal to setSnapshot: versions, names served, change notices', () => {
    const a = new ResourceCache();
    const b = new ResourceCache();
    const seen: ResourceChange[][] = [[], []];
    a.subscribe((c) => seen[0]!.push(...c));
    b.subscribe((c) => seen[1]!.push(...c));
    for (const round of [['x', 'y'], ['x', 'z']]) {
      a.setSnapshot('g', { [C]: round.map((t) => ({ name: `c-${t}`, typeUrl: C, any: any(C, t) })), [L]: [] });
      const s = b.stage('g', [C, L]);
      for (const t of round) s.add(C, `c-${t}`, C, any(C, t));
      b.commit(s);
      for (const t of round) assert.equal(b.get('g', C, `c-${t}`)!.version, a.get('g', C, `c-${t}`)!.version);
      assert.deepEqual(b.names('g', C), a.names('g', C));
    }
    assert.deepEqual(seen[1], seen[0]);
    // The second round: c-x kept its bytes (compared, not hashed); c-z is new.
    assert.deepEqual(b.versionCounts, { hashed: 3, kept: 1 });
  });

  test('nothing is in force before commit; a bad resource throws the setSnapshot error and stages nothing', () => {
    const cache = new ResourceCache();
    const s = cache.stage('g', [C]);
    s.add(C, 'a', C, any(C, 'a'));
    assert.equal(cache.get('g', C, 'a'), undefined);
    assert.throws(() => s.add(C, 'a', C, any(C, 'b')), { code: 'XDS_RESOURCE_DUPLICATE' });
    assert.throws(() => s.add(C, 'b', L, any(L, 'b')), { code: 'XDS_RESOURCE_TYPE_MISMATCH' });
    assert.throws(() => s.add(C, '', C, any(C, 'b')), { code: 'XDS_RESOURCE_NAME_EMPTY', message: /resource 1 has an empty name/ });
    cache.commit(s);
    assert.deepEqual(cache.names('g', C), ['a']);
    // A type staged empty is emptied; one not staged is left alone.
    const l = cache.stage('g', [L]);
    l.add(L, 'l', L, any(L, 'l'));
    cache.commit(l);
    cache.commit(cache.stage('g', [C]));
    assert.deepEqual([cache.names('g', C), cache.names('g', L)], [[], ['l']]);
  });
});
