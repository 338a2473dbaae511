import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { DeltaDiscoveryResponseSchema, DiscoveryResponseSchema } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { encodeAny, encodeDeltaDiscoveryResponse, encodeDiscoveryResponse } from '../../../src/xds/codec.js';
import { DeltaSubscription, SotwSubscription } from '../../../src/xds/protocol/subscriptions.js';
import { parseSecretName } from '../../../src/xds/secrets/secret-names.js';

const any = (typeUrl: string, size: number) => toBinary(AnySchema, create(AnySchema, { typeUrl, value: new Uint8Array(size).fill(7) }));

describe('hand-written envelopes decode with the generated schema', () => {
  for (const size of [0, 100, 20_000, 300_000]) {
    test(`SotW and Delta with a ${size}-byte resource and non-ASCII names`, () => {
      const a = any('type.googleapis.com/x.Y', size);
      const sotw = fromBinary(DiscoveryResponseSchema, encodeDiscoveryResponse({ versionInfo: 'v-ü', resources: [a, a], typeUrl: 't', nonce: 'n1' }));
      assert.equal(sotw.versionInfo, 'v-ü');
      assert.equal(sotw.resources.length, 2);
      assert.equal(sotw.resources[1]!.value.length, size);
      assert.equal(sotw.typeUrl, 't');
      assert.equal(sotw.nonce, 'n1');
      const delta = fromBinary(
        DeltaDiscoveryResponseSchema,
        encodeDeltaDiscoveryResponse({ systemVersionInfo: 's', resources: [{ name: 'näme', version: 'v1', any: a }], typeUrl: 't', removedResources: ['gone', 'älso'], nonce: 'n2' }),
      );
      assert.deepEqual(
        { s: delta.systemVersionInfo, n: delta.resources[0]!.name, v: delta.resources[0]!.version, len: delta.resources[0]!.resource!.value.length, r: delta.removedResources, nonce: delta.nonce },
        { s: 's', n: 'näme', v: 'v1', len: size, r: ['gone', 'älso'], nonce: 'n2' },
      );
    });
  }
});

describe('subscription rules', () => {
  const cases: { name: string; wildcardType: boolean; requests: string[][]; wildcard: boolean; names: string[] }[] = [
    { name: 'LDS/CDS: first empty list is the legacy wildcard', wildcardType: true, requests: [[]], wildcard: true, names: [] },
    { name: 'LDS/CDS: empty lists keep the legacy wildcard', wildcardType: true, requests: [[], []], wildcard: true, names: [] },
    { name: 'LDS/CDS: explicit names end the legacy wildcard', wildcardType: true, requests: [[], ['a']], wildcard: false, names: ['a'] },
    { name: 'LDS/CDS: empty after explicit unsubscribes', wildcardType: true, requests: [['a'], []], wildcard: false, names: [] },
    { name: 'LDS/CDS: `*` with names is wildcard plus names', wildcardType: true, requests: [['a'], ['*', 'b']], wildcard: true, names: ['b'] },
    { name: 'SDS/EDS/RDS: empty is nothing', wildcardType: false, requests: [[]], wildcard: false, names: [] },
    { name: 'SDS/EDS/RDS: empty after names unsubscribes', wildcardType: false, requests: [['a'], []], wildcard: false, names: [] },
  ];
  for (const c of cases) {
    test(`SotW ${c.name}`, () => {
      const s = new SotwSubscription(c.wildcardType);
      for (const r of c.requests) s.update(r);
      assert.equal(s.wildcard, c.wildcard);
      assert.deepEqual([...s.names], c.names);
    });
  }
  const deltaCases: { name: string; wildcardType: boolean; requests: [string[], string[]][]; wildcard: boolean; names: string[] }[] = [
    { name: 'first empty subscribe is the legacy wildcard for CDS', wildcardType: true, requests: [[[], []]], wildcard: true, names: [] },
    { name: 'first empty subscribe is nothing for SDS', wildcardType: false, requests: [[[], []]], wildcard: false, names: [] },
    { name: 'unsubscribing `*` leaves the wildcard', wildcardType: true, requests: [[[], []], [['a'], ['*']]], wildcard: false, names: ['a'] },
    { name: 'subscribe then unsubscribe', wildcardType: false, requests: [[['a', 'b'], []], [[], ['a']]], wildcard: false, names: ['b'] },
  ];
  for (const c of deltaCases) {
    test(`Delta ${c.name}`, () => {
      const s = new DeltaSubscription(c.wildcardType);
      for (const [sub, unsub] of c.requests) s.apply(sub, unsub);
      assert.equal(s.wildcard, c.wildcard);
      assert.deepEqual([...s.names], c.names);
    });
  }
});

describe('secret names', () => {
  const cases: [string, string][] = [
    ['default', 'default'],
    ['ROOTCA', 'bundle'],
    ['ALL', 'all'],
    ['spiffe://example.org', 'bundle'],
    ['spiffe://example.org/ns/a/sa/b', 'svid'],
    ['spiffe://Example.org/x', 'invalid'],
    ['root-ca', 'invalid'],
    ['', 'invalid'],
  ];
  for (const [name, kind] of cases) test(`${JSON.stringify(name)} is ${kind}`, () => assert.equal(parseSecretName(name).kind, kind));
});

describe('Any around encoded bytes', () => {
  const cases: Array<[string, string, Uint8Array]> = [
    ['a listener-sized value', 'type.googleapis.com/envoy.config.listener.v3.Listener', new Uint8Array(300).map((_, i) => i % 251)],
    ['an empty value', 'type.googleapis.com/google.protobuf.Empty', new Uint8Array(0)],
    ['no type URL', '', new Uint8Array([1, 2, 3])],
  ];
  for (const [name, typeUrl, value] of cases) {
    test(`encodeAny writes what toBinary writes: ${name}`, () => {
      assert.deepEqual(Buffer.from(encodeAny(typeUrl, value)), Buffer.from(toBinary(AnySchema, create(AnySchema, { typeUrl, value }))));
    });
  }
});

test('a tls_certificate Secret written by the LEN-field writer is byte-equal to toBinary of the same message', async () => {
  const { create: make, toBinary: encode } = await import('@bufbuild/protobuf');
  const { anyPack: pack, AnySchema: AnyS } = await import('@bufbuild/protobuf/wkt');
  const { SecretSchema: S } = await import('#gen/envoy/extensions/transport_sockets/tls/v3/secret_pb');
  const { tlsCertificateSecretAny } = await import('../../../src/xds/secrets/secrets.js');
  for (const [name, chain, key] of [
    ['spiffe://example.org/ns/shop/sa/orders', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'.repeat(3), '-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n'],
    ['default', 'é'.repeat(300), ''],
    ['', 'x', 'y'],
  ] as const) {
    const viaMessage = encode(AnyS, pack(S, make(S, { name, type: { case: 'tlsCertificate', value: { certificateChain: { specifier: { case: 'inlineBytes', value: Buffer.from(chain) } }, privateKey: { specifier: { case: 'inlineBytes', value: Buffer.from(key) } } } } })));
    assert.deepEqual(Buffer.from(tlsCertificateSecretAny(name, chain, key)), Buffer.from(viaMessage), JSON.stringify(name));
  }
});
