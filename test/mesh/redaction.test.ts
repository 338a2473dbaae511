import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { checkMesh, formatProblem } from '../../src/mesh/index.js';
import { redactExcerpt } from '../../src/mesh/problems.js';
import { X509Bundle } from '../../src/spiffe/bundle.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';

const keyPem = generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
const keyBody = keyPem.split('\n').filter((l) => l && !l.startsWith('-----'));

function assertNoKey(text: string): void {
  assert.doesNotMatch(text, /PRIVATE KEY/);
  for (const line of keyBody) assert.ok(!text.includes(line.slice(0, 24)), `key material leaked: ${line.slice(0, 24)}`);
}

describe('problems never repeat key material', () => {
  const cases: Array<[string, string]> = [
    ['a key file given as the mesh description', keyPem],
    ['a key pasted as a trust domain', `trustDomain: "${keyPem.replace(/\n/g, '\\n')}"\nservices: []\n`],
    ['a key pasted as a SPIFFE ID', `trustDomain: example.org\nservices:\n  - name: a\n    spiffeId: "spiffe://example.org/${keyBody.join('')}%"\n`],
    ['a key pasted as a key', `trustDomain: example.org\n${keyBody[1]}: 1\nservices: []\n`],
  ];
  for (const [name, text] of cases) {
    test(name, () => {
      const r = checkMesh(text, 'mesh.yaml');
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.ok(r.problems.length > 0);
        assertNoKey(r.problems.map(formatProblem).join('\n'));
      }
    });
  }

  test('short quotes stay as they are', () => {
    assert.equal(redactExcerpt('string "htp"'), 'string "htp"');
  });

  test('a bundle file holding a key is refused without quoting it', () => {
    assert.throws(
      () => X509Bundle.fromSpiffeJson(TrustDomain.parse('example.org'), `{"keys": ${keyPem}}`),
      (e: Error) => {
        assertNoKey(e.message);
        return /not a JSON document \(syntax error at character \d+\)/.test(e.message);
      },
    );
  });
});
