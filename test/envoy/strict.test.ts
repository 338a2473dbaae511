import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { ListenerSchema } from '#gen/envoy/config/listener/v3/listener_pb';
import { checkEnvoyBinary, EnvoyConfigError, parseEnvoyJson } from '../../src/envoy/strict.js';
import { anyPack, StringValueSchema } from '@bufbuild/protobuf/wkt';

const LISTENER = 'type.googleapis.com/envoy.config.listener.v3.Listener';

const tlsInspector = {
  name: 'envoy.filters.listener.tls_inspector',
  typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' },
};

describe('strict Envoy parsing', () => {
  test('accepts a listener with a resolvable typed_config', () => {
    const msg = parseEnvoyJson(LISTENER, { name: 'in', listenerFilters: [tlsInspector] });
    assert.equal((msg as unknown as { name: string }).name, 'in');
  });

  const rejects: Array<[string, unknown, RegExp]> = [
    ['an unknown top-level field', { name: 'in', bogus: 1 }, /bogus/],
    ['an unknown field inside typed_config', { name: 'in', listenerFilters: [{ ...tlsInspector, typedConfig: { ...tlsInspector.typedConfig, nope: true } }] }, /nope/],
    ['an Any whose type is not generated', { name: 'in', listenerFilters: [{ name: 'x', typedConfig: { '@type': 'type.googleapis.com/acme.Unknown' } }] }, /acme\.Unknown/],
    ['a wrong value type', { name: 'in', address: { socketAddress: { portValue: 'eighty' } } }, /portValue|port_value/],
  ];
  for (const [name, json, re] of rejects) {
    test(`rejects ${name}`, () => {
      assert.throws(() => parseEnvoyJson(LISTENER, json as never), (err: unknown) => err instanceof EnvoyConfigError && err.code === 'INVALID_ENVOY_CONFIG' && re.test(err.message));
    });
  }

  test('checkEnvoyBinary rejects binary with an Any of an unknown type', () => {
    const inner = anyPack(StringValueSchema, create(StringValueSchema, { value: 'x' }));
    inner.typeUrl = 'type.googleapis.com/acme.Unknown';
    const bytes = toBinary(ListenerSchema, create(ListenerSchema, { name: 'in', listenerFilters: [{ name: 'f', configType: { case: 'typedConfig', value: inner } }] }));
    assert.throws(() => checkEnvoyBinary(LISTENER, bytes), EnvoyConfigError);
  });

  test('checkEnvoyBinary returns the JSON form of a valid resource', () => {
    const bytes = toBinary(ListenerSchema, create(ListenerSchema, { name: 'in', statPrefix: 'in' }));
    assert.deepEqual(checkEnvoyBinary(LISTENER, bytes), { name: 'in', statPrefix: 'in' });
  });
});
