import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { issueSvid, makeCa } from './fixture-ca.js';
import { rejection, whoami } from './harness.js';
import { startTcp, SERVER_ID, TD } from './tcp-setup.js';
import { connect } from 'node:tls';

/** The serial of the certificate a new TLS handshake with the listener gets. */
function serverSerial(address: string, ca: string): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const s = connect({ host, port: Number(port), servername: 'trustplane', ca, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }, () => {
      resolve(s.getPeerCertificate().serialNumber.toUpperCase());
      s.destroy();
    });
    s.on('error', reject);
  });
}

const pem = (s: { chain: readonly { toString(): string }[]; privateKeyPem: string }) => ({
  certChainPem: s.chain.map((c) => c.toString()).join(''),
  privateKeyPem: s.privateKeyPem,
});

describe('TCP listener: mTLS node authentication', () => {
  test('a valid node SVID of the own trust domain is node:<name>', async () => {
    const t = await startTcp();
    try {
      const svid = await issueSvid(t.ca, `spiffe://${TD}/trustplane/node/edge-1`, t.clock.now());
      assert.equal(await whoami(t.who(pem(svid))), 'node:edge-1');
    } finally {
      await t.stop();
    }
  });

  test('a node SVID accepted once is denied on a later call after it expired (no stale verdict is reused)', async () => {
    const t = await startTcp();
    try {
      const creds = pem(await issueSvid(t.ca, `spiffe://${TD}/trustplane/node/edge-1`, t.clock.now(), 600_000));
      assert.equal(await whoami(t.who(creds)), 'node:edge-1');
      assert.equal(await whoami(t.who(creds)), 'node:edge-1');
      t.clock.advance(600_001);
      const err = await rejection(whoami(t.who(creds)));
      assert.equal(err.code, grpc.status.PERMISSION_DENIED, err.message);
    } finally {
      await t.stop();
    }
  });

  const denied: Array<[string, (t: Awaited<ReturnType<typeof startTcp>>) => Promise<{ certChainPem: string; privateKeyPem: string } | undefined>]> = [
    ['no client certificate', async () => undefined],
    ['a node SVID from another trust domain', async (t) => pem(await issueSvid(await makeCa('other.org', t.clock.now()), 'spiffe://other.org/trustplane/node/edge-1', t.clock.now()))],
    [
      'an own-trust-domain node ID signed by a CA outside the bundle',
      async (t) => pem(await issueSvid(await makeCa(TD, t.clock.now()), `spiffe://${TD}/trustplane/node/edge-1`, t.clock.now())),
    ],
    ['an own-trust-domain SVID that is not a node ID', async (t) => pem(await issueSvid(t.ca, `spiffe://${TD}/ns/shop/sa/orders`, t.clock.now()))],
    [
      'a node SVID that expired by the server clock',
      async (t) => {
        const svid = await issueSvid(t.ca, `spiffe://${TD}/trustplane/node/edge-1`, t.clock.now(), 600_000);
        t.clock.advance(600_001);
        return pem(svid);
      },
    ],
  ];
  for (const [name, credsFor] of denied) {
    test(`${name} is PERMISSION_DENIED`, async () => {
      const t = await startTcp();
      try {
        const err = await rejection(whoami(t.who(await credsFor(t))));
        assert.equal(err.code, grpc.status.PERMISSION_DENIED, err.message);
        assert.match(t.captured.text(), /xDS caller not authenticated/);
      } finally {
        await t.stop();
      }
    });
  }

  test('a renewed server SVID is served on new handshakes without rebinding the listener', async () => {
    const t = await startTcp();
    try {
      const node = pem(await issueSvid(t.ca, `spiffe://${TD}/trustplane/node/edge-1`, t.clock.now()));
      const before = t.store.getSvid(SERVER_ID)!.serial;
      assert.equal(await serverSerial(t.address, t.ca.bundle.toPem()), before);
      assert.equal(await whoami(t.who(node)), 'node:edge-1');
      const renewed = await issueSvid(t.ca, SERVER_ID, t.clock.now(), 24 * 3_600_000);
      t.store.setSvid(renewed);
      assert.notEqual(renewed.serial, before);
      assert.equal(await serverSerial(t.address, t.ca.bundle.toPem()), renewed.serial);
      assert.equal(await whoami(t.who(node)), 'node:edge-1');
      assert.equal(t.transport.tcpAddress, t.address);
    } finally {
      await t.stop();
    }
  });
});
