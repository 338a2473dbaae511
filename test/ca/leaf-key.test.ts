import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { CaError } from '../../src/ca/errors.js';
import { parseKeyType, type KeyType } from '../../src/ca/key-type.js';
import { generateLeafKey } from '../../src/ca/leaf-key.js';

const cases: [string, KeyType, number][] = [
  ['P-256: hand-encoded PKCS#8 and SPKI load in OpenSSL and match (incl. short scalars, ~1 in 256)', 'ec-p256', 1500],
  ['P-384: hand-encoded PKCS#8 and SPKI load in OpenSSL and match', 'ec-p384', 200],
];
for (const [name, type, n] of cases) {
  test(name, () => {
    for (let i = 0; i < n; i++) {
      const key = generateLeafKey(type);
      const derived = createPublicKey(createPrivateKey(key.privateKeyPem)).export({ type: 'spki', format: 'der' });
      assert.ok(derived.equals(key.spkiDer), `key ${i} public part does not match its private part`);
    }
  });
}

test('key type names are validated with the accepted list in the message', () => {
  assert.equal(parseKeyType('EC-P384'), 'ec-p384');
  assert.throws(() => parseKeyType('ed25519', 'ca.keyType'), (e: unknown) => e instanceof CaError && /ca\.keyType: "ed25519".*ec-p256, ec-p384, rsa-2048, rsa-3072/.test(e.message));
});
