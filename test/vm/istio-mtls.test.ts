// Issue 6, "VM calling into Istio": a VM's client and an Istio sidecar, as node:tls endpoints with CAs of their own
// trust domains, complete mTLS with exactly the SNI, ALPN and SAN checks of the cluster trustplane generates, in
// both identity set-ups the README describes; and the handshakes that must fail do.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { ManualClock } from '../../src/clock.js';
import { buildServiceResources } from '../../src/envoy/resources.js';
import { parseMesh } from '../../src/mesh/parse.js';
import type { X509Bundle } from '../../src/spiffe/bundle.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { dialFromCluster, IstioSidecar, type SecretSource, type Svid } from './istio-peer.js';

const VM_TD = 'vm.example.org';
const BILLING = `spiffe://${VM_TD}/ns/vms/sa/billing`;
const REVIEWS = 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews';
const RATINGS = 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings';
const LEDGER = 'spiffe://cluster.local/ns/finance/sa/ledger';
const REVIEWS_SNI = 'outbound_.9080_._.reviews.bookinfo.svc.cluster.local';
const LEDGER_SNI = 'outbound_.7070_._.ledger.finance.svc.cluster.local';

const dirs: string[] = [];
const cas: CertificateAuthority[] = [];
// The handshakes check validity against the host's time, so the CAs' clock starts there.
const clock = new ManualClock(Date.now());

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tp-vm-istio-'));
  dirs.push(d);
  return d;
}

function openCa(trustDomain: string, upstream?: { certFile: string; keyFile: string }): CertificateAuthority {
  const ca = CertificateAuthority.open({ trustDomain: TrustDomain.parse(trustDomain), dataDir: tempDir(), clock, ...(upstream ? { upstream } : {}) });
  cas.push(ca);
  return ca;
}

/** Istio's plugged-in root (the root-cert/ca-key of its cacerts secret), made the way operators make one. */
function makeIstioRoot(): { certFile: string; keyFile: string } {
  const dir = tempDir();
  const certFile = join(dir, 'root-cert.pem');
  const keyFile = join(dir, 'root-key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '30', '-subj', '/O=cluster.local/CN=Istio stand-in root', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ], { stdio: 'ignore' });
  // openssl dates the root from now; the CAs must not see a time before it.
  clock.advanceTo(Date.now());
  return { certFile, keyFile };
}

const mint = (ca: CertificateAuthority, id: string): Svid => ca.mintX509Svid(SpiffeId.parse(id));

function secrets(svids: Record<string, Svid>, bundles: Record<string, X509Bundle>): SecretSource {
  return {
    svid: (name) => svids[name] ?? assert.fail(`the cluster asks for SVID "${name}", which the VM does not hold`),
    bundle: (name) => bundles[name] ?? assert.fail(`the cluster asks for validation context "${name}", which trustplane does not serve`),
  };
}

function cluster(meshText: string, file: string, name: string): Cluster {
  const mesh = parseMesh(meshText, file);
  const c = buildServiceResources(mesh, mesh.serviceByName('billing')!).clusters.find((x) => x.name === name);
  return c ?? assert.fail(`no cluster ${name}`);
}

async function withSidecar<T>(sidecar: IstioSidecar, fn: (port: number) => Promise<T>): Promise<T> {
  const port = await sidecar.listen();
  try {
    return await fn(port);
  } finally {
    await sidecar.close();
  }
}

after(() => {
  for (const ca of cas) ca.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('VM in its own trust domain, federated on the Istio side (examples/vm-istio.yaml)', () => {
  const text = readFileSync(new URL('../../../examples/vm-istio.yaml', import.meta.url), 'utf8');
  let vmCa: CertificateAuthority;
  let istioCa: CertificateAuthority;
  let source: SecretSource;
  let reviews: Cluster;
  let ledger: Cluster;

  before(() => {
    vmCa = openCa(VM_TD);
    istioCa = openCa('cluster.local');
    // trustplane serves the VM's SVID and, for spiffe://cluster.local, the federated Istio root.
    source = secrets({ [BILLING]: mint(vmCa, BILLING) }, { 'spiffe://cluster.local': istioCa.bundle(), [`spiffe://${VM_TD}`]: vmCa.bundle() });
    reviews = cluster(text, 'examples/vm-istio.yaml', 'outbound_reviews');
    ledger = cluster(text, 'examples/vm-istio.yaml', 'outbound_ledger');
  });

  /** The sidecar trusts its own root and, through meshConfig.caCertificates, the VM's trust domain bundle. */
  const federatedSidecar = (id: string, sni: string, ca = istioCa) => new IstioSidecar(mint(ca, id), [istioCa.bundle(), vmCa.bundle()], sni);

  test('HTTP service: mTLS completes with the generated SNI and ALPN; each side sees the other\'s exact SPIFFE ID', async () => {
    const sidecar = federatedSidecar(REVIEWS, REVIEWS_SNI);
    const got = await withSidecar(sidecar, (port) => dialFromCluster(reviews, source, port));
    assert.equal(got.serverSpiffeId, REVIEWS);
    assert.deepEqual(got.server, { clientSpiffeId: BILLING, sni: REVIEWS_SNI, alpn: 'istio-peer-exchange' });
    assert.deepEqual(sidecar.refusals, []);
  });

  test('gRPC service: the same with h2 offered after Istio\'s ALPN', async () => {
    const sidecar = federatedSidecar(LEDGER, LEDGER_SNI);
    const got = await withSidecar(sidecar, (port) => dialFromCluster(ledger, source, port));
    assert.equal(got.serverSpiffeId, LEDGER);
    assert.equal(got.server.clientSpiffeId, BILLING);
    assert.equal(got.server.sni, LEDGER_SNI);
  });

  test('an Istio side that does not federate the VM\'s trust domain refuses the VM', async () => {
    const sidecar = new IstioSidecar(mint(istioCa, REVIEWS), [istioCa.bundle()], REVIEWS_SNI);
    await withSidecar(sidecar, (port) => assert.rejects(dialFromCluster(reviews, source, port)));
    assert.equal(sidecar.accepted.length, 0);
    assert.match(sidecar.refusals.join('\n'), /^TLS: (SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/);
  });

  test('a server with another service account fails the exact SAN check derived from the cluster', async () => {
    const sidecar = federatedSidecar(RATINGS, REVIEWS_SNI);
    await withSidecar(sidecar, (port) => assert.rejects(dialFromCluster(reviews, source, port), new RegExp(`server URI SAN ${RATINGS} matches none of ${REVIEWS}`)));
    assert.equal(sidecar.accepted.length, 0);
  });

  test('a server certificate from another cluster.local CA (not the federated root) is refused', async () => {
    const rogue = openCa('cluster.local');
    const sidecar = new IstioSidecar(mint(rogue, REVIEWS), [istioCa.bundle(), vmCa.bundle()], REVIEWS_SNI);
    await withSidecar(sidecar, (port) => assert.rejects(dialFromCluster(reviews, source, port), /self[- ]signed|unable to (get|verify)/i));
    assert.equal(sidecar.accepted.length, 0);
  });

  test('the sidecar requires Istio\'s ALPN: a client offering only h2 is refused', async () => {
    const sidecar = federatedSidecar(REVIEWS, REVIEWS_SNI);
    await withSidecar(sidecar, (port) => assert.rejects(dialFromCluster(reviews, source, port, { alpn: ['h2'] }), /application protocol/i));
    assert.equal(sidecar.accepted.length, 0);
  });

  test('the sidecar requires the outbound_ SNI: a client sending the bare host is refused', async () => {
    const sidecar = federatedSidecar(REVIEWS, REVIEWS_SNI);
    await withSidecar(sidecar, (port) => assert.rejects(dialFromCluster(reviews, source, port, { sni: 'reviews.bookinfo.svc.cluster.local' })));
    assert.deepEqual(sidecar.refusals, [`SNI reviews.bookinfo.svc.cluster.local is not ${REVIEWS_SNI}`]);
  });
});

describe('VM issued under Istio\'s root: trustplane\'s CA as an intermediate', () => {
  const VM_ID = 'spiffe://cluster.local/ns/vms/sa/billing';
  const text = [
    'trustDomain: cluster.local',
    'defaultMode: STRICT',
    'services:',
    '  - name: billing',
    `    spiffeId: ${VM_ID}`,
    '    target: vm',
    '    nodes: [node:billing-vm-1]',
    '    outbound:',
    '      - name: reviews',
    '        address: istio-eastwestgateway.example.net',
    '        port: 15443',
    '        protocol: http',
    '        istio: { host: reviews.bookinfo.svc.cluster.local, port: 9080, namespace: bookinfo, serviceAccount: bookinfo-reviews }',
    '',
  ].join('\n');
  let trustplaneCa: CertificateAuthority;
  let istiodCa: CertificateAuthority;
  let reviews: Cluster;
  let source: SecretSource;

  before(() => {
    const root = makeIstioRoot();
    // `trustplane serve --upstream-cert/--upstream-key` from Istio's cacerts; istiod signs under the same root.
    trustplaneCa = openCa('cluster.local', root);
    istiodCa = openCa('cluster.local', root);
    reviews = cluster(text, 'vm-intermediate.yaml', 'outbound_reviews');
    // The own bundle of cluster.local is now Istio's root: no federation on either side.
    source = secrets({ [VM_ID]: mint(trustplaneCa, VM_ID) }, { 'spiffe://cluster.local': trustplaneCa.bundle() });
  });

  test('both CAs publish Istio\'s root as the bundle', () => {
    assert.equal(trustplaneCa.bundle().x509Authorities[0]!.fingerprint256, istiodCa.bundle().x509Authorities[0]!.fingerprint256);
  });

  test('mTLS completes with a sidecar that trusts only Istio\'s root; exact IDs on both sides', async () => {
    const sidecar = new IstioSidecar(mint(istiodCa, REVIEWS), [istiodCa.bundle()], REVIEWS_SNI);
    const got = await withSidecar(sidecar, (port) => dialFromCluster(reviews, source, port));
    assert.equal(got.serverSpiffeId, REVIEWS);
    assert.deepEqual(got.server, { clientSpiffeId: VM_ID, sni: REVIEWS_SNI, alpn: 'istio-peer-exchange' });
  });

  test('a sidecar under another root is refused, and refuses the VM', async () => {
    const other = openCa('cluster.local', makeIstioRoot());
    const sidecar = new IstioSidecar(mint(other, REVIEWS), [other.bundle()], REVIEWS_SNI);
    await withSidecar(sidecar, (port) => assert.rejects(dialFromCluster(reviews, source, port)));
    assert.equal(sidecar.accepted.length, 0);
  });

  test('a server with the right SAN but another service account is refused', async () => {
    const sidecar = new IstioSidecar(mint(istiodCa, RATINGS), [istiodCa.bundle()], REVIEWS_SNI);
    await withSidecar(sidecar, (port) => assert.rejects(dialFromCluster(reviews, source, port), /matches none of/));
  });
});
