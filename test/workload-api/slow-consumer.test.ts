// A caller that stops reading cannot make the server queue without bound: once its stream stops taking writes,
// further changes only mark it dirty, and when it reads again it gets the latest state. The client is a raw
// HTTP/2 stream (node:http2) speaking gRPC framing by hand, so the test decides exactly when it reads.
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { test } from 'node:test';
import { X509Bundle } from '../../src/spiffe/bundle.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { decodeX509SvidResponse, splitDer } from './spec-wire.js';
import { PARTNER_TD, startFixture, TD } from './fixture.js';

const UID = process.getuid?.() ?? 0;
const ORDERS = `spiffe://${TD}/ns/shop/sa/orders`;
const AUDIT = `spiffe://${TD}/ns/shop/sa/audit`;

test('a caller that does not read gets a bounded number of writes, then the latest state', async (t) => {
  const f = await startFixture({ grants: { [UID]: [ORDERS, AUDIT] } });
  const session = h2connect('http://localhost', { createConnection: () => netConnect(f.socket(UID)) });
  try {
    const req = session.request({ ':method': 'POST', ':path': '/SpiffeWorkloadAPI/FetchX509SVID', 'content-type': 'application/grpc', te: 'trailers', 'workload.spiffe.io': 'true' });
    req.end(Buffer.alloc(5)); // one empty X509SVIDRequest: uncompressed, length 0
    let received = Buffer.alloc(0);
    req.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
    await new Promise<void>((ok) => req.once('data', () => ok()));
    req.pause();
    // Many distinct states, one per event-loop turn (the server coalesces within a turn).
    const partner = f.partnerCa.bundle().x509Authorities;
    const other = f.ca.bundle().x509Authorities;
    const states = 600;
    for (let i = 0; i < states; i++) {
      // Each state differs from the one before: the partner bundle holds 1..3 of these certificates in turn.
      const certs = [...partner, ...other].slice(0, 1 + (i % 2)).concat(i % 3 === 0 ? other : []);
      f.store.setBundle(new X509Bundle(TrustDomain.parse(PARTNER_TD), certs));
      await new Promise((r) => setImmediate(r));
    }
    const sentWhilePaused = f.sent;
    assert.ok(sentWhilePaused < states / 3, `writes stop once the caller stops reading (${sentWhilePaused} of ${states} changes written)`);
    // The final state, which the caller must end up with.
    const last = new X509Bundle(TrustDomain.parse(PARTNER_TD), partner);
    f.store.setBundle(last);
    await new Promise((r) => setImmediate(r));
    const finalFed = partner.map((c) => c.raw);
    req.resume();
    // Read gRPC messages until one carries the final state; it must be the last one sent.
    const messages = (): Buffer[] => {
      const out: Buffer[] = [];
      for (let p = 0; p + 5 <= received.length; ) {
        const len = received.readUInt32BE(p + 1);
        if (p + 5 + len > received.length) break;
        out.push(received.subarray(p + 5, p + 5 + len));
        p += 5 + len;
      }
      return out;
    };
    const isFinal = (m: Buffer): boolean => {
      const fed = decodeX509SvidResponse(m).federatedBundles[`spiffe://${PARTNER_TD}`];
      return fed !== undefined && splitDer(fed).length === finalFed.length && splitDer(fed).every((d, i) => d.equals(finalFed[i]!));
    };
    await new Promise<void>((ok) => {
      const check = (): void => {
        const all = messages();
        if (all.length && isFinal(all[all.length - 1]!) && all.length === f.sent) {
          req.off('data', check);
          ok();
        }
      };
      req.on('data', check);
      check();
    });
    assert.ok(f.sent <= sentWhilePaused + 2, `after reading again: the latest state, not the backlog (${f.sent - sentWhilePaused} more writes)`);
    t.diagnostic(`${states} changes while not reading: ${sentWhilePaused} writes; after reading again: ${f.sent - sentWhilePaused} more`);
    req.close();
  } finally {
    session.close();
    await f.close();
  }
});
