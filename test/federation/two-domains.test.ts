// Issue 12: two control planes (ControlPlane.start, what `trustplane serve` runs) of different trust domains federate
// through each other's bundle endpoints over real HTTPS, in both profiles. A CA rotation in one reaches the other's
// proxies (SDS, the ALL validation context, over a real gRPC stream) within one refresh interval of the clock, and
// an mTLS handshake (node:tls) between an SVID of each domain succeeds before, during and after the rotation.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { previewPublication } from '../../src/federation/published-bundle.js';
import { cli } from '../cli/run.js';
import { checkPeer, signedBy, TlsEndpoint, type TlsMaterial } from '../e2e/tls-peer.js';
import type { SdsAgent } from '../e2e/sds-agent.js';
import { agentOf, httpsGet, meshYaml, serverId, serviceId, startDomain, tempDir, webPki, type Domain, type FederationYaml } from './fixtures.js';

const ALPHA = 'alpha.test';
const BETA = 'beta.test';
const MINUTE = 60_000;
const HINT_S = 60;

const bundleOf = (m: TlsMaterial | undefined, td: string) => m?.bundles.find((b) => b.trustDomain.name === td);
const leafOf = (m: TlsMaterial): X509Certificate => new X509Certificate(m.certChainPem.slice(0, m.certChainPem.indexOf('-----END CERTIFICATE-----') + 25));
const activeCa = (d: Domain): X509Certificate => d.cp.ca.status().find((a) => a.state === 'active')!.certificate;

for (const profile of ['https_spiffe', 'https_web'] as const) {
  describe(`federation between two control planes over ${profile}`, () => {
    const dirs: string[] = [];
    const cleanup: (() => unknown)[] = [];
    after(async () => {
      for (const c of cleanup.reverse()) await c();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    test('a CA rotation in one domain reaches the other\'s proxies within one refresh; mTLS across domains holds throughout', async () => {
      // The handshakes check validity with the host's time: the control planes' clock starts 45 minutes earlier, so
      // everything minted while the test advances it (by about 37 minutes) is already valid for the host.
      const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000 - 45 * MINUTE);
      const root = tempDir('tp-fed-');
      dirs.push(root);
      const pki = profile === 'https_web' ? await webPki() : undefined;
      const endpoint = async (name: string) => {
        if (!pki) return { profile: 'https_spiffe' as const, refreshHintSeconds: HINT_S };
        const { certPem, keyPem } = await pki.issue({ ips: ['127.0.0.1'] });
        const certFile = join(root, `${name}-tls.crt`);
        const keyFile = join(root, `${name}-tls.key`);
        writeFileSync(certFile, certPem);
        writeFileSync(keyFile, keyPem, { mode: 0o600 });
        return { profile: 'https_web' as const, certFile, keyFile, refreshHintSeconds: HINT_S };
      };
      const client = pki ? { webCa: pki.caPem } : undefined;
      const a = await startDomain({ td: ALPHA, service: 'frontend', dir: join(root, 'alpha'), clock, endpoint: await endpoint('alpha'), ...(client ? { client } : {}) });
      cleanup.push(() => a.cp.close());
      const b = await startDomain({ td: BETA, service: 'backend', dir: join(root, 'beta'), clock, endpoint: await endpoint('beta'), ...(client ? { client } : {}) });
      cleanup.push(() => b.cp.close());

      // Each side names the other's endpoint; https_spiffe bootstraps from the other's bundle, handed over out of band.
      const federate = (self: Domain, peer: Domain): FederationYaml => {
        if (profile === 'https_web') return { trustDomain: peer.td, bundleEndpoint: { url: peer.url, profile } };
        const file = join(self.dir, `${peer.td}.bundle.json`);
        writeFileSync(file, previewPublication(join(peer.dir, 'data'), peer.cp.store.getBundle(peer.td)!).body);
        return { trustDomain: peer.td, bundleFile: file, bundleEndpoint: { url: peer.url, profile, endpointSpiffeId: serverId(peer.td) } };
      };
      writeFileSync(a.meshFile, meshYaml(ALPHA, 'frontend', [federate(a, b)]));
      writeFileSync(b.meshFile, meshYaml(BETA, 'backend', [federate(b, a)]));
      assert.deepEqual(a.cp.reload(), { ok: true, problems: [] });
      assert.deepEqual(b.cp.reload(), { ok: true, problems: [] });
      await Promise.all([a.cp.federation.refresher(BETA)!.refreshNow(), b.cp.federation.refresher(ALPHA)!.refreshNow()]);
      for (const [self, peer] of [[a, b], [b, a]] as const) {
        const st = self.cp.federation.status().find((d) => d.trustDomain === peer.td)!;
        assert.equal(st.endpoint?.lastError, undefined, `${self.td} fetched ${peer.td}: ${st.endpoint?.lastError?.message}`);
        assert.equal(st.endpoint?.heldFrom, 'endpoint');
        assert.equal(st.sequence, peer.cp.bundleEndpoint!.publication!.sequence);
        // The whole bundle document travels: the peer's JWT authorities come along with its X.509 ones.
        const theirs = peer.cp.store.getBundle(peer.td)!.jwtAuthorities.map((k) => k.keyId).sort();
        assert.ok(theirs.length > 0);
        assert.deepEqual(self.cp.store.getBundle(peer.td)!.jwtAuthorities.map((k) => k.keyId).sort(), theirs);
      }

      // Proxies: each holds its service's SVID and the ALL context (its own and the federated trust domain).
      const agentA = agentOf(a, 'frontend');
      const agentB = agentOf(b, 'backend');
      // A proxy of beta that asks for alpha's validation context by its name rather than ALL.
      const agentB2 = agentOf(b, 'backend', { name: `spiffe://${ALPHA}`, trustDomain: ALPHA });
      cleanup.push(() => agentA.close(), () => agentB.close(), () => agentB2.close());
      const both = (m: TlsMaterial | undefined) => !!bundleOf(m, ALPHA) && !!bundleOf(m, BETA);
      await agentA.waitFor('own and federated bundles', both);
      await agentB.waitFor('own and federated bundles', both);
      const epA = new TlsEndpoint(serviceId(ALPHA, 'frontend'), agentA.material!, serviceId(BETA, 'backend'));
      const epB = new TlsEndpoint(serviceId(BETA, 'backend'), agentB.material!, serviceId(ALPHA, 'frontend'));
      const follow = (agent: SdsAgent, ep: TlsEndpoint) => agent.onMaterial((m) => ep.update(m));
      follow(agentA, epA);
      follow(agentB, epB);
      await epA.listen();
      await epB.listen();
      cleanup.push(() => epA.close(), () => epB.close());
      const handshakes = async (when: string) => {
        const ab = await epA.connect(epB);
        const ba = await epB.connect(epA);
        assert.equal(ab.server.spiffeId, serviceId(BETA, 'backend'), when);
        assert.equal(ba.server.spiffeId, serviceId(ALPHA, 'frontend'), when);
        return { ab, ba };
      };
      await handshakes('before the rotation');

      // Rotation in alpha: its endpoint serves the next sequence at once; beta still holds the old bundle.
      const oldCa = activeCa(a);
      const seqBefore = a.cp.bundleEndpoint!.publication!.sequence;
      const pushesToBBefore = agentB.responses.length;
      a.cp.ca.rotateNow();
      const newCa = activeCa(a);
      assert.notEqual(newCa.fingerprint256, oldCa.fingerprint256);
      assert.equal(a.cp.bundleEndpoint!.publication!.sequence, seqBefore + 1);
      const served = JSON.parse((await httpsGet(a.url, tlsFor(profile, pki?.caPem, a))).body) as { spiffe_sequence: number; keys: unknown[] };
      assert.equal(served.spiffe_sequence, seqBefore + 1);
      await agentA.waitFor('alpha\'s new CA in its own bundle', (m) => !!bundleOf(m, ALPHA)?.hasAuthority(newCa));
      assert.equal(bundleOf(agentB.material, ALPHA)!.hasAuthority(newCa), false, 'beta has not refreshed yet');
      assert.equal(agentB.responses.length, pushesToBBefore, 'nothing was pushed to beta\'s proxy before its refresh');
      await handshakes('during the rotation (alpha still presents an SVID of its old CA)');

      // One refresh interval later, beta's proxy trusts alpha's new CA, pushed over SDS without any restart.
      const oldAlphaAtB = bundleOf(agentB.material, ALPHA)!;
      clock.advance(HINT_S * 1000);
      await agentB.waitFor('alpha\'s new CA pushed to beta\'s proxy', (m) => !!bundleOf(m, ALPHA)?.hasAuthority(newCa) && !!bundleOf(m, ALPHA)?.hasAuthority(oldCa));
      await agentB2.waitFor('alpha\'s new CA in the spiffe://alpha.test context', (m) => !!bundleOf(m, ALPHA)?.hasAuthority(newCa));
      const st = b.cp.federation.status().find((d) => d.trustDomain === ALPHA)!;
      assert.equal(st.sequence, seqBefore + 1);
      assert.equal(st.endpoint?.lastRefresh, new Date(clock.now()).toISOString());
      assert.equal(st.endpoint?.nextRefresh, new Date(clock.now() + HINT_S * 1000).toISOString());
      await handshakes('after beta refreshed');

      // Alpha's SVIDs renew under the new CA; beta accepts them with the fetched bundle (and could not without it).
      clock.advance(36 * MINUTE);
      await agentA.waitFor('frontend SVID signed by alpha\'s new CA', (m) => !!m && signedBy(leafOf(m), newCa));
      const newLeaf = leafOf(agentA.material!);
      assert.match(String(checkPeer(newLeaf, serviceId(ALPHA, 'frontend'), [oldAlphaAtB])?.message), /does not verify/);
      const { ab, ba } = await handshakes('after the rotation, with an SVID of alpha\'s new CA');
      assert.equal(ab.client.serial, newLeaf.serialNumber.toUpperCase(), 'beta accepted alpha\'s new SVID as a client');
      assert.equal(ba.server.serial, newLeaf.serialNumber.toUpperCase(), 'beta accepted alpha\'s new SVID as a server');
      assert.deepEqual([...epA.refusals, ...epB.refusals], []);

      const metrics = await b.cp.metrics.registry.metrics();
      assert.match(metrics, new RegExp(`trustplane_federation_last_refresh_timestamp_seconds\\{trust_domain="${ALPHA}"\\} \\d+`));
      assert.match(metrics, new RegExp(`trustplane_federation_bundle_sequence\\{trust_domain="${ALPHA}"\\} ${seqBefore + 1}`));

      // The operator's view: `trustplane federation status` reads /federation from the admin endpoint. (The jump of
      // 36 minutes above passed a fetch's timeout on the manual clock while it was in flight; one more refresh.)
      await b.cp.federation.refresher(ALPHA)!.refreshNow();
      const table = await cli('federation', 'status', '--admin', b.cp.adminAddress!, '--data-dir', b.cp.config.dataDir);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, new RegExp(`bundle endpoint https://${b.cp.bundleEndpoint!.address}/ \\(${profile}`));
      assert.match(table.stdout, new RegExp(`${ALPHA}  \\(endpoint ${a.url.replace(/[.]/g, '\\.')} ${profile}`));
      assert.match(table.stdout, new RegExp(`sequence +${seqBefore + 1}\\n  authorities +2`));
      assert.match(table.stdout, /last error +-/);
      const json = await cli('federation', 'status', '--json', '--admin', b.cp.adminAddress!, '--data-dir', b.cp.config.dataDir);
      const fed = JSON.parse(json.stdout) as { trustDomain: string; domains: { trustDomain: string; sequence: number; endpoint: { nextRefresh: string } }[] };
      assert.equal(fed.trustDomain, BETA);
      assert.equal(fed.domains[0]!.trustDomain, ALPHA);
      assert.equal(fed.domains[0]!.sequence, seqBefore + 1);
      assert.ok(Date.parse(fed.domains[0]!.endpoint.nextRefresh) > clock.now());
    });
  });
}

/** How a test client trusts an endpoint: the Web PKI root, or the endpoint domain's bundle and its server SVID. */
export function tlsFor(profile: 'https_web' | 'https_spiffe', webCa: string | undefined, d: Domain) {
  if (profile === 'https_web') return { ca: webCa! };
  return { ca: d.cp.store.getBundle(d.td)!.toPem(), checkServerIdentity: () => undefined };
}
