import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { webcrypto } from 'node:crypto';
import * as x509 from '../../../src/spiffe/x509-lib.js';
import { generateNodeKey } from './fixture-ca.js';
import { errorCode, rejection, whoami } from './harness.js';
import { NODE_SVID_TTL_MS, startTcp, TD, type TcpSetup } from './tcp-setup.js';

/** Nothing that could be (part of) a private key or a join token. */
function assertNoSecrets(text: string, secrets: string[]): void {
  assert.doesNotMatch(text, /PRIVATE KEY/);
  for (const s of secrets) {
    const body = s.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    for (let i = 0; i + 24 <= body.length; i += 24) assert.ok(!text.includes(body.slice(i, i + 24)), 'a secret fragment leaked');
  }
}

async function withTcp(fn: (t: TcpSetup) => Promise<void>): Promise<void> {
  const t = await startTcp();
  try {
    await fn(t);
  } finally {
    await t.stop();
  }
}

describe('node attestation with join tokens', () => {
  test('a valid token buys a node SVID that authenticates an mTLS xDS call as node:<name>', () =>
    withTcp(async (t) => {
      const { token } = await t.tokens.create('edge-1', 600_000);
      const key = generateNodeKey();
      const res = await t.attestation().attest({ token, publicKeyPem: key.publicKeyPem });
      assert.equal(res.spiffeId, `spiffe://${TD}/trustplane/node/edge-1`);
      assert.equal(res.bundlePem, t.ca.bundle.toPem());
      assert.equal(new Date(res.notAfter).getTime(), t.clock.now() + NODE_SVID_TTL_MS);
      assert.equal(await whoami(t.who({ certChainPem: res.certChainPem, privateKeyPem: key.privateKeyPem })), 'node:edge-1');
      assertNoSecrets(JSON.stringify(res) + t.captured.text(), [key.privateKeyPem, token]);
    }));

  test('a CA failure does not burn the token: the node can try again', () =>
    withTcp(async (t) => {
      const { token } = await t.tokens.create('edge-1', 600_000);
      const sign = t.issuer.signX509Svid;
      t.issuer.signX509Svid = () => {
        throw new Error('disk full');
      };
      const err = await rejection(t.attestation().attest({ token, publicKeyPem: generateNodeKey().publicKeyPem }));
      assert.equal(errorCode(err), 'NODE_ATTESTATION_FAILED');
      t.issuer.signX509Svid = sign;
      const res = await t.attestation().attest({ token, publicKeyPem: generateNodeKey().publicKeyPem });
      assert.equal(res.spiffeId, `spiffe://${TD}/trustplane/node/edge-1`);
      assert.equal(errorCode(await rejection(t.attestation().attest({ token, publicKeyPem: generateNodeKey().publicKeyPem }))), 'JOIN_TOKEN_USED');
    }));

  test('a CSR is accepted in place of a bare public key', () =>
    withTcp(async (t) => {
      const { token } = await t.tokens.create('edge-2', 600_000);
      const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
      const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
      const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=whatever', keys, signingAlgorithm: alg });
      const res = await t.attestation().attest({ token, csrPem: csr.toString('pem') });
      assert.equal(res.spiffeId, `spiffe://${TD}/trustplane/node/edge-2`);
    }));

  const denied: Array<[string, (t: TcpSetup) => Promise<string>, string, grpc.status]> = [
    ['an unknown token', async () => 'tpjt_' + 'x'.repeat(43), 'JOIN_TOKEN_UNKNOWN', grpc.status.PERMISSION_DENIED],
    [
      'an expired token',
      async (t) => {
        const { token } = await t.tokens.create('edge-1', 600_000);
        t.clock.advance(600_000);
        return token;
      },
      'JOIN_TOKEN_EXPIRED',
      grpc.status.PERMISSION_DENIED,
    ],
    [
      'a reused token',
      async (t) => {
        const { token } = await t.tokens.create('edge-1', 600_000);
        await t.tokens.consume(token);
        t.issuer.issued.length = 0;
        return token;
      },
      'JOIN_TOKEN_USED',
      grpc.status.PERMISSION_DENIED,
    ],
    ['a malformed token', async () => 'hunter2', 'JOIN_TOKEN_MALFORMED', grpc.status.INVALID_ARGUMENT],
  ];
  for (const [name, tokenFor, code, status] of denied) {
    test(`${name} is denied with ${code} and nothing is issued`, () =>
      withTcp(async (t) => {
        const token = await tokenFor(t);
        const err = await rejection(t.attestation().attest({ token, publicKeyPem: generateNodeKey().publicKeyPem }));
        assert.equal(err.code, status);
        assert.equal(errorCode(err), code);
        assert.deepEqual(t.issuer.issued, []);
        assertNoSecrets(t.captured.text(), [token]);
      }));
  }

  test('a request without a usable key is refused without spending the token', () =>
    withTcp(async (t) => {
      const { token } = await t.tokens.create('edge-1', 600_000);
      const err = await rejection(t.attestation().attest({ token, publicKeyPem: 'not a key' }));
      assert.equal(errorCode(err), 'NODE_KEY_INVALID');
      const priv = generateNodeKey().privateKeyPem;
      assert.equal(errorCode(await rejection(t.attestation().attest({ token, publicKeyPem: priv }))), 'NODE_KEY_INVALID');
      assertNoSecrets(t.captured.text(), [priv]);
      const res = await t.attestation().attest({ token, publicKeyPem: generateNodeKey().publicKeyPem });
      assert.equal(res.spiffeId, `spiffe://${TD}/trustplane/node/edge-1`);
    }));

  test('a node renews with its current node SVID, and only with it', () =>
    withTcp(async (t) => {
      const { token } = await t.tokens.create('edge-1', 600_000);
      const key = generateNodeKey();
      const first = await t.attestation().attest({ token, publicKeyPem: key.publicKeyPem });
      const next = generateNodeKey();
      const mtls = { certChainPem: first.certChainPem, privateKeyPem: key.privateKeyPem };
      const renewed = await t.attestation(mtls).renew({ publicKeyPem: next.publicKeyPem });
      assert.equal(renewed.spiffeId, first.spiffeId);
      assert.notEqual(renewed.certChainPem, first.certChainPem);
      const err = await rejection(t.attestation().renew({ publicKeyPem: next.publicKeyPem }));
      assert.equal(err.code, grpc.status.UNAUTHENTICATED);
      assert.equal(errorCode(err), 'NODE_NOT_AUTHENTICATED');
      t.clock.advance(NODE_SVID_TTL_MS + 1);
      assert.equal(errorCode(await rejection(t.attestation(mtls).renew({ publicKeyPem: next.publicKeyPem }))), 'NODE_NOT_AUTHENTICATED');
      assert.equal(t.issuer.issued.length, 2);
    }));
});
