// With an upstream CA, trustplane's CA is an intermediate: node SVIDs chain leaf → intermediate → upstream root, and
// the bundle holds only the root. gRPC hands the server the client's leaf alone, so the node is verified with the
// CA's intermediates. This runs every real part: openssl-made upstream root, CA, join token, TLS, SDS.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';
import { createJoinToken } from '../../src/xds/node-attest/token-command.js';
import { NodeAttestationClient, spiffeChannelCredentials } from '../../src/xds/node-attest/client.js';
import { XdsCaller } from '../e2e/xds-calls.js';

let dir: string;
let cp: ControlPlane;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-upstream-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/O=Upstream Root',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', join(dir, 'root.key'), '-out', join(dir, 'root.pem')], { stdio: 'ignore' });
  const meshFile = join(dir, 'mesh.yaml');
  copyFileSync(join(process.cwd(), 'examples', 'federation.yaml'), meshFile);
  copyFileSync(join(process.cwd(), 'examples', 'partner-bundle.pem'), join(dir, 'partner-bundle.pem'));
  cp = await ControlPlane.start(
    { dataDir: join(dir, 'data'), meshFile, unixSocket: '', tcpAddress: '127.0.0.1:0', adminAddress: '', insecure: false, drainMs: 0, upstream: { certFile: join(dir, 'root.pem'), keyFile: join(dir, 'root.key') } },
    { clock: systemClock, logger: silentLogger, watch: false },
  );
});
after(async () => {
  await cp.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a node attested under an upstream CA is authenticated by its leaf and gets exactly its identity', async () => {
  assert.equal(cp.ca.bundle().x509Authorities.length, 1, 'the bundle is the upstream root alone');
  assert.equal(cp.ca.intermediates().length, 1);
  const { token } = await createJoinToken({ dataDir: join(dir, 'data'), node: 'checkout-1' });
  const bundlePem = cp.ca.bundle().toPem();
  const serverSpiffeId = cp.serverSpiffeId;
  const attest = new NodeAttestationClient(cp.tcpAddress!, spiffeChannelCredentials({ bundlePem, serverSpiffeId }));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const svid = await attest.attest({ token, publicKeyPem: publicKey });
  attest.close();
  assert.equal(svid.spiffeId, 'spiffe://prod.example.com/trustplane/node/checkout-1');
  assert.equal(svid.certChainPem.match(/BEGIN CERTIFICATE/g)?.length, 2, 'leaf + trustplane intermediate');

  const caller = new XdsCaller(cp.tcpAddress!, spiffeChannelCredentials({ bundlePem, serverSpiffeId, certChainPem: svid.certChainPem, privateKeyPem: privateKey }));
  try {
    const res = await caller.fetchSecrets({ node: { id: 'checkout-1', cluster: 'checkout' }, resourceNames: ['spiffe://prod.example.com/ns/checkout/sa/checkout', 'spiffe://prod.example.com/ns/ledger/sa/ledger'], typeUrl: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret' });
    assert.equal(res.resources.length, 1, 'the node may hold checkout, not ledger');
  } finally {
    caller.close();
  }
});
