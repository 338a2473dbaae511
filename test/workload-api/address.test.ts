// The Workload Endpoint address rules (SPIFFE Workload Endpoint §4) and --identity-source, as tables.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIdentitySourceSpec } from '../../src/sources/identity-source-spec.js';
import { parseWorkloadApiAddress } from '../../src/workload-api/address.js';

const good: Array<[string, string]> = [
  ['unix:///run/spire/sockets/agent.sock', 'unix:///run/spire/sockets/agent.sock'],
  ['unix:///tmp/a%20b.sock', 'unix:///tmp/a b.sock'],
  ['tcp://127.0.0.1:8081', '127.0.0.1:8081'],
  ['tcp://[::1]:8081', '[::1]:8081'],
];
for (const [uri, target] of good) {
  test(`address ${uri} is accepted (grpc target ${target})`, () => {
    assert.deepEqual(parseWorkloadApiAddress(uri), { uri, target });
  });
}

const bad: Array<[string, RegExp]> = [
  ['/run/spire/sockets/agent.sock', /not a URI/],
  ['unix:/run/agent.sock', /no authority and an absolute path/],
  ['unix://host/run/agent.sock', /no authority/],
  ['unix:///run/', /must name the socket file/],
  ['unix:///run/agent.sock?x=1', /query, fragment/],
  ['tcp://localhost:8081', /must be an IP address/],
  ['tcp://127.0.0.1', /needs a port/],
  ['tcp://127.0.0.1:8000/foo', /has no path/],
  ['http://127.0.0.1:8000', /scheme must be unix or tcp/],
];
for (const [uri, why] of bad) {
  test(`address ${uri} is refused with a clear reason`, () => {
    assert.throws(() => parseWorkloadApiAddress(uri, '--identity-source'), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'WORKLOAD_API_ADDRESS_INVALID');
      assert.match(e.message, why);
      assert.match(e.message, /^--identity-source "/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  });
}

test('--identity-source: embedded-ca, workload-api:ADDRESS, or a clear error', () => {
  assert.deepEqual(parseIdentitySourceSpec('embedded-ca'), { kind: 'embedded-ca' });
  const s = parseIdentitySourceSpec('workload-api:unix:///run/spire/sockets/agent.sock');
  assert.equal(s.kind, 'workload-api');
  assert.equal(s.kind === 'workload-api' && s.address.target, 'unix:///run/spire/sockets/agent.sock');
  assert.throws(() => parseIdentitySourceSpec('spire'), /IDENTITY_SOURCE|expected embedded-ca or workload-api:/);
  assert.throws(() => parseIdentitySourceSpec('workload-api:/run/agent.sock'), { code: 'WORKLOAD_API_ADDRESS_INVALID' });
});
