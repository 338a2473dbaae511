// Issue 4: two node:tls endpoints whose certificates, keys and validation contexts come only from SDS responses of
// a running control plane (real CA, SvidManager, XdsServer and transport) complete mTLS with exact SPIFFE-ID checks;
// through a forced CA rotation and the SVID renewals after it, a loop of handshakes keeps going and none fails.
// Endpoint A's agent streams over a per-workload Unix socket; endpoint B's over TCP mTLS with a node SVID it got
// with a join token, and it asks for plain trusted_ca contexts, so both transports and both validation forms are used.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { SdsAgent } from './sds-agent.js';
import { startControlPlane, TD, type ControlPlane } from './control-plane.js';
import { signedBy, TlsEndpoint, type Handshake, type TlsMaterial } from './tls-peer.js';

const A = `spiffe://${TD}/ns/shop/sa/frontend`;
const B = `spiffe://${TD}/ns/shop/sa/backend`;
const MINUTE = 60_000;
const SVID_TTL_MS = 60 * MINUTE;

const leafOf = (m: TlsMaterial | undefined): X509Certificate | undefined =>
  m && new X509Certificate(m.certChainPem.slice(0, m.certChainPem.indexOf('-----END CERTIFICATE-----') + 25));
const serialOf = (m: TlsMaterial | undefined): string | undefined => leafOf(m)?.serialNumber.toUpperCase();
const trusts = (m: TlsMaterial | undefined, ca: X509Certificate): boolean =>
  !!m?.bundles.find((b) => b.trustDomain.name === TD)?.hasAuthority(ca);
const activeCa = (cp: ControlPlane): X509Certificate => cp.ca.status().find((a) => a.state === 'active')!.certificate;

/** Handshakes back to back, alternating A→B and B→A, until stopped; every outcome is kept. */
class HandshakeLoop {
  readonly done: { from: string; to: string; handshake: Handshake }[] = [];
  readonly failed: { from: string; to: string; error: string }[] = [];
  #stopped = false;
  #running: Promise<void> | undefined;
  #waiters: (() => void)[] = [];

  constructor(
    private readonly a: TlsEndpoint,
    private readonly b: TlsEndpoint,
  ) {}

  start(): void {
    this.#running = (async () => {
      for (let i = 0; !this.#stopped; i++) {
        const [from, to] = i % 2 === 0 ? [this.a, this.b] : [this.b, this.a];
        try {
          this.done.push({ from: from.spiffeId, to: to.spiffeId, handshake: await from.connect(to) });
        } catch (e) {
          this.failed.push({ from: from.spiffeId, to: to.spiffeId, error: (e as Error).message });
        }
        for (const w of this.#waiters.splice(0)) w();
      }
    })();
  }

  /** Resolves after `n` more handshakes (in both directions when n >= 2) have been attempted. */
  async next(n = 2): Promise<void> {
    for (let i = 0; i < n; i++) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }
}

describe('end to end: node:tls endpoints fed only by SDS', () => {
  test('mTLS with exact SPIFFE IDs, then a forced CA rotation and SVID renewal without a failed handshake', async () => {
    // The endpoints check validity with the host's time, so the control plane's clock starts 40 minutes before it:
    // the renewal at half of the 1 h lifetime still lands before the host's time, and every SVID of the test is
    // valid for the host as well as for the control plane.
    const start = Math.floor(Date.now() / 1000) * 1000 - 40 * MINUTE;
    const cp = await startControlPlane({
      start,
      random: () => 0.5,
      grants: [
        { spiffeId: A, principals: [{ kind: 'node', name: 'host-a' }] },
        { spiffeId: B, principals: [{ kind: 'node', name: 'host-b' }] },
      ],
      unix: [{ name: 'host-a.sock', principal: { kind: 'node', name: 'host-a' } }],
    });
    const cleanup: (() => unknown)[] = [];
    try {
      assert.equal(cp.ca.svidTtlMs, SVID_TTL_MS);
      const oldCa = activeCa(cp);

      // Host B joins: a join token buys a node SVID for a key that never leaves the host.
      const { token } = await cp.tokens.create('host-b', 10 * MINUTE);
      const nodeKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
      const joined = await cp.attestation().attest({ token, publicKeyPem: nodeKey.publicKey });
      assert.equal(joined.spiffeId, `spiffe://${TD}/trustplane/node/host-b`);

      const agentA = new SdsAgent(`unix:${cp.socketPath('host-a.sock')}`, grpc.credentials.createInsecure(), {
        nodeId: 'host-a', certificate: A, validation: 'ROOTCA', trustDomain: TD,
      });
      const agentB = new SdsAgent(cp.transport.tcpAddress!, cp.channelCredentials({ certChainPem: joined.certChainPem, privateKeyPem: nodeKey.privateKey }), {
        nodeId: 'host-b', metadata: { disable_spiffe_cert_validation: true }, certificate: B, validation: `spiffe://${TD}`, trustDomain: TD,
      });
      cleanup.push(() => agentA.close(), () => agentB.close());
      await Promise.all([agentA.waitFor('first SVID and bundle', (m) => !!m), agentB.waitFor('first SVID and bundle', (m) => !!m)]);

      // What came over SDS is the store's current SVID and bundle; A got the SPIFFE-validator form, B plain trusted_ca.
      const firstA = cp.store.getSvid(A)!;
      const firstB = cp.store.getSvid(B)!;
      assert.equal(serialOf(agentA.material), firstA.serial);
      assert.equal(serialOf(agentB.material), firstB.serial);
      assert.deepEqual(agentA.material!.bundles.map((b) => b.x509Authorities.length), [1]);
      assert.ok(trusts(agentA.material, oldCa) && trusts(agentB.material, oldCa));
      const form = (agent: SdsAgent, name: string) => {
        const s = agent.secret(name);
        return s?.type.case === 'validationContext' ? (s.type.value.customValidatorConfig ? 'spiffe-validator' : 'trusted_ca') : undefined;
      };
      assert.equal(form(agentA, 'ROOTCA'), 'spiffe-validator');
      assert.equal(form(agentB, `spiffe://${TD}`), 'trusted_ca');

      // The endpoints are built from those bytes only; each admits exactly the other.
      const endpointA = new TlsEndpoint(A, agentA.material!, B);
      const endpointB = new TlsEndpoint(B, agentB.material!, A);
      agentA.onMaterial((m) => endpointA.update(m));
      agentB.onMaterial((m) => endpointB.update(m));
      await endpointA.listen();
      await endpointB.listen();
      cleanup.push(() => endpointA.close(), () => endpointB.close());

      const ab = await endpointA.connect(endpointB);
      assert.equal(ab.server.spiffeId, B);
      assert.equal(ab.server.serial, firstB.serial);
      assert.deepEqual(ab.client, { spiffeId: A, serial: firstA.serial });
      const ba = await endpointB.connect(endpointA);
      assert.equal(ba.server.spiffeId, A);
      assert.deepEqual(ba.client, { spiffeId: B, serial: firstB.serial });
      assert.ok(signedBy(ab.server.leaf, oldCa) && signedBy(ba.server.leaf, oldCa));

      // From here on handshakes run back to back, through every step below.
      const loop = new HandshakeLoop(endpointA, endpointB);
      loop.start();
      cleanup.push(() => loop.stop());
      await loop.next();

      // Forced rotation: the new CA is published (next to the old one) before it signs anything.
      cp.ca.rotateNow();
      const newCa = activeCa(cp);
      assert.notEqual(newCa.fingerprint256, oldCa.fingerprint256);
      await Promise.all([
        agentA.waitFor('bundle with the new CA', (m) => trusts(m, newCa)),
        agentB.waitFor('bundle with the new CA', (m) => trusts(m, newCa)),
      ]);
      for (const agent of [agentA, agentB]) {
        assert.ok(trusts(agent.material, oldCa), 'the old CA stays in the bundle while its SVIDs live');
        assert.ok(signedBy(leafOf(agent.material)!, oldCa), 'the SVID is not renewed before the new bundle arrived');
      }
      await loop.next();

      // Renewal at half the lifetime: the SvidManager mints with the new CA, and the pushes carry the new SVIDs.
      cp.clock.advance(SVID_TTL_MS / 2);
      const renewedA = cp.store.getSvid(A)!;
      const renewedB = cp.store.getSvid(B)!;
      assert.notEqual(renewedA.serial, firstA.serial);
      assert.notEqual(renewedB.serial, firstB.serial);
      await Promise.all([
        agentA.waitFor('the renewed SVID', (m) => serialOf(m) === renewedA.serial),
        agentB.waitFor('the renewed SVID', (m) => serialOf(m) === renewedB.serial),
      ]);
      await loop.next();

      // New connections present the new SVIDs, issued by the new CA, still with exact SPIFFE IDs both ways.
      const ab2 = await endpointA.connect(endpointB);
      assert.equal(ab2.server.spiffeId, B);
      assert.equal(ab2.server.serial, renewedB.serial);
      assert.deepEqual(ab2.client, { spiffeId: A, serial: renewedA.serial });
      assert.ok(signedBy(ab2.server.leaf, newCa) && !signedBy(ab2.server.leaf, oldCa), 'issued by the new CA');
      const ba2 = await endpointB.connect(endpointA);
      assert.equal(ba2.server.serial, renewedA.serial);
      assert.deepEqual(ba2.client, { spiffeId: B, serial: renewedB.serial });
      assert.ok(signedBy(ba2.server.leaf, newCa));

      await loop.stop();
      assert.deepEqual(loop.failed, [], 'no handshake failed at any point of the rotation');
      assert.deepEqual(endpointA.refusals, []);
      assert.deepEqual(endpointB.refusals, []);
      const seen = new Set(loop.done.map((d) => d.handshake.server.serial));
      for (const serial of [firstA.serial, firstB.serial, renewedA.serial, renewedB.serial]) {
        assert.ok(seen.has(serial), `the loop ran with SVID ${serial} in use`);
      }

      // Each endpoint received the new bundle strictly before its first SVID from the new CA.
      for (const agent of [agentA, agentB]) {
        const bundleAt = agent.history.findIndex((m) => trusts(m, newCa));
        const svidAt = agent.history.findIndex((m) => signedBy(leafOf(m)!, newCa));
        assert.ok(bundleAt >= 0 && svidAt > bundleAt, `${agent.opts.nodeId}: bundle push ${bundleAt} before SVID push ${svidAt}`);
      }
    } finally {
      for (const c of cleanup.reverse()) await c();
      await cp.close();
    }
  });
});
