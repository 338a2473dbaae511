// Issue 3: a real mTLS handshake between two node:tls endpoints holding SVIDs minted by the embedded CA, each side
// checking the other's exact SPIFFE ID; and handshakes that must fail, among them every way a peer's SVID can come
// from another trust domain.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { ManualClock } from '../../src/clock.js';
import { X509Bundle } from '../../src/spiffe/bundle.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import type { X509SvidRecord } from '../../src/store/identity-store.js';
import { generateNodeKey, makeCa as makeFixtureCa, signLeaf } from '../xds/transport/fixture-ca.js';
import { materialOf, TlsEndpoint, type TlsMaterial } from './tls-peer.js';

const OWN = 'example.org';
const FOREIGN = 'other.org';
const FRONTEND = `spiffe://${OWN}/ns/shop/sa/frontend`;
const BACKEND = `spiffe://${OWN}/ns/shop/sa/backend`;

interface Pki {
  own: CertificateAuthority;
  foreign: CertificateAuthority;
  /** The foreign trust domain's bundle with a second CA that does what the embedded CA refuses: issue in ours. */
  foreignWithRogue: X509Bundle;
  rogueBackend: X509SvidRecord;
  dirs: string[];
}

let pki: Pki;

async function openCa(trustDomain: string, clock: ManualClock, dirs: string[]): Promise<CertificateAuthority> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tp-e2e-ca-'));
  dirs.push(dataDir);
  return CertificateAuthority.open({ trustDomain: TrustDomain.parse(trustDomain), dataDir, clock });
}

before(async () => {
  // The handshakes check validity with the host's time, so the CAs' clock starts there (and is never advanced).
  const clock = new ManualClock(Date.now());
  const dirs: string[] = [];
  const own = await openCa(OWN, clock, dirs);
  const foreign = await openCa(FOREIGN, clock, dirs);
  const rogue = await makeFixtureCa(FOREIGN, clock.now());
  const key = generateNodeKey();
  const leaf = await signLeaf(rogue, BACKEND, key.publicKey, { notBefore: clock.now() - 60_000, notAfter: clock.now() + 3_600_000 });
  const rogueBackend: X509SvidRecord = {
    spiffeId: BACKEND,
    chain: [leaf],
    privateKeyPem: key.privateKeyPem,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    serial: leaf.serialNumber.toUpperCase(),
  };
  const foreignWithRogue = foreign.bundle().withAuthorities([...foreign.bundle().x509Authorities, rogue.cert]);
  pki = { own, foreign, foreignWithRogue, rogueBackend, dirs };
});

after(async () => {
  pki.own.close();
  pki.foreign.close();
  for (const d of pki.dirs) await rm(d, { recursive: true, force: true });
});

function mint(id: string): X509SvidRecord {
  const parsed = SpiffeId.parse(id);
  return (parsed.trustDomain.name === OWN ? pki.own : pki.foreign).mintX509Svid(parsed);
}

/** Starts a server endpoint and a client endpoint, runs fn, closes both. */
async function withPair(
  server: { id: string; material: TlsMaterial; accepts: string },
  client: { id: string; material: TlsMaterial },
  fn: (server: TlsEndpoint, client: TlsEndpoint) => Promise<void>,
): Promise<void> {
  const s = new TlsEndpoint(server.id, server.material, server.accepts);
  const c = new TlsEndpoint(client.id, client.material, '');
  await s.listen();
  try {
    await fn(s, c);
  } finally {
    await s.close();
  }
}

describe('mTLS between node:tls endpoints with minted SVIDs', () => {
  test('both sides present minted SVIDs and accept exactly each other’s SPIFFE ID', async () => {
    const frontend = mint(FRONTEND);
    const backend = mint(BACKEND);
    const bundles = [pki.own.bundle()];
    await withPair(
      { id: BACKEND, material: materialOf(backend, bundles), accepts: FRONTEND },
      { id: FRONTEND, material: materialOf(frontend, bundles) },
      async (server, client) => {
        const h = await client.connect(server, BACKEND);
        assert.equal(h.server.spiffeId, BACKEND);
        assert.equal(h.server.serial, backend.serial, 'the client saw the minted backend SVID');
        assert.deepEqual(h.client, { spiffeId: FRONTEND, serial: frontend.serial }, 'the server saw the minted frontend SVID');
        assert.deepEqual(server.refusals, []);
      },
    );
  });

  // Each row: who presents what, who trusts what, and which side must refuse the handshake, for what reason.
  interface Row {
    serverSvid: () => X509SvidRecord;
    serverTrusts: () => X509Bundle[];
    clientSvid: () => X509SvidRecord;
    clientTrusts: () => X509Bundle[];
    refusedBy: 'client' | 'server';
    reason: RegExp;
  }
  const own = () => [pki.own.bundle()];
  const federated = () => [pki.own.bundle(), pki.foreign.bundle()];
  const rows: Record<string, Row> = {
    'the server’s SVID is from another trust domain, whose bundle the client does not hold': {
      serverSvid: () => mint(`spiffe://${FOREIGN}/ns/shop/sa/backend`),
      serverTrusts: own,
      clientSvid: () => mint(FRONTEND),
      clientTrusts: own,
      refusedBy: 'client',
      reason: /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET_ISSUER_CERT|VERIFY_LEAF_SIGNATURE)/,
    },
    'the client’s SVID is from another trust domain, whose bundle the server does not hold': {
      serverSvid: () => mint(BACKEND),
      serverTrusts: own,
      clientSvid: () => mint(`spiffe://${FOREIGN}/ns/shop/sa/frontend`),
      clientTrusts: own,
      refusedBy: 'server',
      reason: /^TLS: (SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET_ISSUER_CERT_LOCALLY|VERIFY_LEAF_SIGNATURE))$/,
    },
    'federated: the server’s SVID chains to the other trust domain’s bundle but has the same path there': {
      serverSvid: () => mint(`spiffe://${FOREIGN}/ns/shop/sa/backend`),
      serverTrusts: federated,
      clientSvid: () => mint(FRONTEND),
      clientTrusts: federated,
      refusedBy: 'client',
      reason: new RegExp(`peer is not ${BACKEND} \\(URI SANs: spiffe://${FOREIGN}/ns/shop/sa/backend\\)`),
    },
    'federated: the client’s SVID chains to the other trust domain’s bundle but has the same path there': {
      serverSvid: () => mint(BACKEND),
      serverTrusts: federated,
      clientSvid: () => mint(`spiffe://${FOREIGN}/ns/shop/sa/frontend`),
      clientTrusts: federated,
      refusedBy: 'server',
      reason: new RegExp(`peer is not ${FRONTEND} \\(URI SANs: spiffe://${FOREIGN}/ns/shop/sa/frontend\\)`),
    },
    'federated: a CA in another trust domain’s bundle issued our backend’s exact ID (OpenSSL’s pooled CAs accept it)': {
      serverSvid: () => pki.rogueBackend,
      serverTrusts: federated,
      clientSvid: () => mint(FRONTEND),
      clientTrusts: () => [pki.own.bundle(), pki.foreignWithRogue],
      refusedBy: 'client',
      reason: new RegExp(`peer SVID for ${BACKEND} does not verify against its own trust domain's bundle`),
    },
    'same trust domain, but the server is another workload than the one the client expects': {
      serverSvid: () => mint(`spiffe://${OWN}/ns/shop/sa/intruder`),
      serverTrusts: own,
      clientSvid: () => mint(FRONTEND),
      clientTrusts: own,
      refusedBy: 'client',
      reason: new RegExp(`peer is not ${BACKEND} \\(URI SANs: spiffe://${OWN}/ns/shop/sa/intruder\\)`),
    },
    'same trust domain, but the client is another workload than the one the server admits': {
      serverSvid: () => mint(BACKEND),
      serverTrusts: own,
      clientSvid: () => mint(`spiffe://${OWN}/ns/shop/sa/intruder`),
      clientTrusts: own,
      refusedBy: 'server',
      reason: new RegExp(`peer is not ${FRONTEND} \\(URI SANs: spiffe://${OWN}/ns/shop/sa/intruder\\)`),
    },
  };

  for (const [name, row] of Object.entries(rows)) {
    test(`refused by the ${row.refusedBy}: ${name}`, async () => {
      await withPair(
        { id: BACKEND, material: materialOf(row.serverSvid(), row.serverTrusts()), accepts: FRONTEND },
        { id: FRONTEND, material: materialOf(row.clientSvid(), row.clientTrusts()) },
        async (server, client) => {
          const refusal = server.nextRefusal();
          const err = await client.connect(server, BACKEND).then(
            () => assert.fail('the handshake completed'),
            (e: NodeJS.ErrnoException) => e,
          );
          if (row.refusedBy === 'client') {
            assert.match(`${err.code ?? ''} ${err.message}`, row.reason);
          } else {
            assert.match(await refusal, row.reason);
          }
        },
      );
    });
  }
});
