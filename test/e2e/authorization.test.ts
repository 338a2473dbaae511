// Issue 4, who may fetch what, end to end: the real transport (per-workload Unix sockets owned by other users, TCP
// with mTLS and join-token node attestation), the real XdsServer and the embedded CA together. Wrong uid, no client
// certificate, expired or reused join token, another node's identity: all denied, and no response, log line or
// error message carries a private key the caller was not entitled to. The transport and protocol suites test each
// rule against stand-ins; here every part is real and the callers are separate users and nodes.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { fromBinary } from '@bufbuild/protobuf';
import { DiscoveryResponseSchema, type DiscoveryResponse } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TYPE_SECRET } from '../../src/xds/type-urls.js';
import { PATHS } from '../xds/protocol/client.js';
import { secretsOf } from '../xds/protocol/helpers.js';
import { errorCode, rejection } from '../xds/transport/harness.js';
import { assertNoneOfKeys, assertNoPrivateKey, containsKey, startControlPlane, TD, type ControlPlane } from './control-plane.js';
import { tlsCertificateOf } from './sds-agent.js';
import type { UidClientReport } from './uid-sds-client.js';
import { wireText, XdsCaller } from './xds-calls.js';

const MINUTE = 60_000;
const UID_A = 41001;
const UID_B = 41002;
const NOBODY = 65534;
const BATCH = `spiffe://${TD}/ns/team-a/sa/batch`; // uid A's
const REPORT = `spiffe://${TD}/ns/team-b/sa/report`; // uid B's
const GATEWAY = `spiffe://${TD}/ns/edge/sa/gateway`; // node edge-1's
const PAYMENTS = `spiffe://${TD}/ns/pay/sa/payments`; // node edge-2's
const SOCKET: Record<number, string> = { [UID_A]: `uid-${UID_A}.sock`, [UID_B]: `uid-${UID_B}.sock` };
const IDENTITY_OF_UID: Record<number, string> = { [UID_A]: BATCH, [UID_B]: REPORT };
const ALL_WORKLOADS = [BATCH, REPORT, GATEWAY, PAYMENTS];
// The client's code is passed as text: the other users need no access to the checkout (it may be under a 0700 home).
const CHILD_SOURCE = readFileSync(fileURLToPath(new URL('./uid-sds-client.js', import.meta.url)), 'utf8');

let cp: ControlPlane;
/** Every error message and status detail a refused caller saw, for the final leak check. */
const errorTexts: string[] = [];
/** Private keys of nodes (generated on the node, never sent) and the join tokens, for the final leak check. */
const nodeKeys: string[] = [];
const joinTokens: string[] = [];

function nodeKey(): { publicKeyPem: string; privateKeyPem: string } {
  const k = generateKeyPairSync('ec', { namedCurve: 'prime256v1', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  nodeKeys.push(k.privateKey);
  return { publicKeyPem: k.publicKey, privateKeyPem: k.privateKey };
}

/** Joins node `name` with a fresh token; returns its mTLS client credentials. */
async function joinNode(name: string): Promise<{ certChainPem: string; privateKeyPem: string }> {
  const { token } = await cp.tokens.create(name, 10 * MINUTE);
  joinTokens.push(token);
  const key = nodeKey();
  const res = await cp.attestation().attest({ token, publicKeyPem: key.publicKeyPem });
  assert.equal(res.spiffeId, `spiffe://${TD}/trustplane/node/${name}`);
  return { certChainPem: res.certChainPem, privateKeyPem: key.privateKeyPem };
}

/** The private key of every workload SVID the store holds but `entitled`. */
function keysExcept(...entitled: string[]): string[] {
  return ALL_WORKLOADS.filter((id) => !entitled.includes(id)).map((id) => cp.store.getSvid(id)!.privateKeyPem);
}

/** Runs the SDS client script as another user against a socket. */
function runAs(uid: number, socket: string, names: readonly string[]): Promise<UidClientReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD_SOURCE, '--', '--uid-sds-client', cp.socketPath(socket), JSON.stringify(names)], {
      uid,
      gid: uid,
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20_000,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`client as uid ${uid} exited with ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as UidClientReport);
    });
  });
}

async function namesOf(resp: DiscoveryResponse): Promise<string[]> {
  return (await secretsOf(resp)).map((s) => s.name).sort();
}

before(async () => {
  // The client speaks gRPC by hand, with the names written out: they must be the server's.
  assert.ok(CHILD_SOURCE.includes(`'${PATHS.StreamSecrets}'`) && CHILD_SOURCE.includes(`'${TYPE_SECRET}'`), 'uid-sds-client names the same method and type URL as the server');
  if (process.getuid?.() !== 0) {
    throw new Error('the end-to-end authorization tests run as root: they give sockets to other users and run clients as them');
  }
  cp = await startControlPlane({
    // Behind the host's time, so that advancing past a join token's expiry never mints a certificate the host's
    // OpenSSL would find not yet valid.
    start: Date.now() - 10 * MINUTE,
    grants: [
      { spiffeId: BATCH, principals: [{ kind: 'uid', uid: UID_A }] },
      { spiffeId: REPORT, principals: [{ kind: 'uid', uid: UID_B }] },
      { spiffeId: GATEWAY, principals: [{ kind: 'node', name: 'edge-1' }] },
      { spiffeId: PAYMENTS, principals: [{ kind: 'node', name: 'edge-2' }] },
    ],
    unix: [UID_A, UID_B].map((uid) => ({ name: SOCKET[uid]!, principal: { kind: 'uid', uid } as const, uid, gid: uid, mode: 0o600 })),
  });
});

after(() => cp.close());

describe('end to end: Unix sockets per workload user', () => {
  const wrong: [user: number, socketOf: number][] = [
    [UID_B, UID_A],
    [UID_A, UID_B],
    [NOBODY, UID_A],
  ];
  for (const [user, owner] of wrong) {
    test(`uid ${user} on the socket of uid ${owner} is refused by the kernel (EACCES) and receives nothing`, async () => {
      const report = await runAs(user, SOCKET[owner]!, [IDENTITY_OF_UID[owner]!, 'default', 'ROOTCA']);
      assert.equal(report.uid, user);
      assert.equal(report.connect, 'EACCES');
      assert.equal(report.response, undefined);
      assert.equal(report.status?.code, grpc.status.UNAVAILABLE);
      errorTexts.push(report.status!.details);
    });
  }

  for (const uid of [UID_A, UID_B]) {
    test(`the socket of uid ${uid}, used by uid ${uid}, gives that uid’s identity and nobody else’s`, async () => {
      const own = IDENTITY_OF_UID[uid]!;
      const report = await runAs(uid, SOCKET[uid]!, [...ALL_WORKLOADS, 'default', 'ROOTCA']);
      assert.equal(report.connect, 'OK');
      assert.ok(report.response, `no response: ${JSON.stringify(report.status)}`);
      const resp = fromBinary(DiscoveryResponseSchema, Buffer.from(report.response, 'base64'));
      assert.deepEqual(await namesOf(resp), [own, 'ROOTCA', 'default'].sort());
      for (const s of await secretsOf(resp)) {
        if (s.type.case !== 'tlsCertificate') continue;
        const { certChainPem, privateKeyPem } = tlsCertificateOf(s);
        const leaf = new X509Certificate(certChainPem);
        assert.equal(leaf.subjectAltName, `URI:${own}`, `${s.name} carries ${own}`);
        assert.ok(leaf.checkPrivateKey(createPrivateKey(privateKeyPem)), `${s.name}: the key belongs to the certificate`);
      }
      const text = wireText(resp);
      assert.ok(containsKey(text, cp.store.getSvid(own)!.privateKeyPem), 'the check below would see a key that is there');
      assertNoneOfKeys(text, keysExcept(own), `the response to uid ${uid}`);
    });
  }
});

describe('end to end: TCP with node SVIDs', () => {
  test('without a client certificate, every xDS method is PERMISSION_DENIED and answers nothing', async () => {
    const anonymous = new XdsCaller(cp.transport.tcpAddress!, cp.channelCredentials());
    try {
      const request = { node: { id: 'edge-1' }, typeUrl: TYPE_SECRET, resourceNames: [GATEWAY, 'default', 'ROOTCA'] };
      for (const path of [PATHS.StreamSecrets, PATHS.StreamAggregatedResources] as const) {
        const s = anonymous.sotw(path);
        s.send(request);
        const status = await s.status;
        assert.equal(status.code, grpc.status.PERMISSION_DENIED, path);
        assert.equal(s.responses.length, 0, path);
        errorTexts.push(status.details);
      }
      const d = anonymous.delta(PATHS.DeltaSecrets);
      d.send({ node: { id: 'edge-1' }, typeUrl: TYPE_SECRET, resourceNamesSubscribe: [GATEWAY, 'ROOTCA'] });
      const status = await d.status;
      assert.equal(status.code, grpc.status.PERMISSION_DENIED);
      assert.equal(d.responses.length, 0);
      const err = await rejection(anonymous.fetchSecrets(request));
      assert.equal(err.code, grpc.status.PERMISSION_DENIED);
      errorTexts.push(status.details, err.details);
      assert.match(cp.logText(), /xDS caller not authenticated: no client certificate/);
    } finally {
      anonymous.close();
    }
  });

  test('an expired join token buys no node SVID, so its holder has nothing to call xDS with', async () => {
    const { token } = await cp.tokens.create('edge-1', MINUTE);
    joinTokens.push(token);
    const issued = cp.issuer.issued.length;
    cp.clock.advance(MINUTE);
    const err = await rejection(cp.attestation().attest({ token, publicKeyPem: nodeKey().publicKeyPem }));
    assert.equal(err.code, grpc.status.PERMISSION_DENIED);
    assert.equal(errorCode(err), 'JOIN_TOKEN_EXPIRED');
    assert.equal(cp.issuer.issued.length, issued, 'the CA signed nothing');
    errorTexts.push(err.details);
  });

  test('a join token already used buys nothing for a second holder; the first one’s node streams its identity', async () => {
    const { token } = await cp.tokens.create('edge-2', 10 * MINUTE);
    joinTokens.push(token);
    const issued = cp.issuer.issued.length;
    const legitimate = nodeKey();
    const res = await cp.attestation().attest({ token, publicKeyPem: legitimate.publicKeyPem });
    const thief = nodeKey();
    const err = await rejection(cp.attestation().attest({ token, publicKeyPem: thief.publicKeyPem }));
    assert.equal(err.code, grpc.status.PERMISSION_DENIED);
    assert.equal(errorCode(err), 'JOIN_TOKEN_USED');
    assert.deepEqual(cp.issuer.issued.slice(issued), [`spiffe://${TD}/trustplane/node/edge-2`], 'exactly one node SVID, for the first holder');
    errorTexts.push(err.details);

    const node = new XdsCaller(cp.transport.tcpAddress!, cp.channelCredentials({ certChainPem: res.certChainPem, privateKeyPem: legitimate.privateKeyPem }));
    try {
      const s = node.sotw();
      s.send({ node: { id: 'edge-2' }, typeUrl: TYPE_SECRET, resourceNames: [PAYMENTS] });
      assert.deepEqual(await namesOf(await s.next()), [PAYMENTS]);
      s.end();
    } finally {
      node.close();
    }
  });

  test('a node asking for other nodes’ and users’ identities gets only its own, on SotW, ADS, Delta and Fetch', async () => {
    const edge1 = new XdsCaller(cp.transport.tcpAddress!, cp.channelCredentials(await joinNode('edge-1')));
    const others = [PAYMENTS, BATCH, REPORT];
    const ownKey = cp.store.getSvid(GATEWAY)!.privateKeyPem;
    const check = (resp: Parameters<typeof wireText>[0], what: string) => {
      const text = wireText(resp);
      assert.ok(containsKey(text, ownKey), `${what}: carries the node’s own key (the check can see a key)`);
      assertNoneOfKeys(text, keysExcept(GATEWAY), what);
    };
    try {
      for (const path of [PATHS.StreamSecrets, PATHS.StreamAggregatedResources] as const) {
        const s = edge1.sotw(path);
        s.send({ node: { id: 'edge-1' }, typeUrl: TYPE_SECRET, resourceNames: [GATEWAY, ...others, 'default', 'ROOTCA'] });
        const r = await s.next();
        assert.deepEqual(await namesOf(r), [GATEWAY, 'ROOTCA', 'default'].sort(), path);
        check(r, path);
        s.end();
      }
      const d = edge1.delta(PATHS.DeltaSecrets);
      d.send({ node: { id: 'edge-1' }, typeUrl: TYPE_SECRET, resourceNamesSubscribe: [GATEWAY, ...others] });
      const dr = await d.next();
      assert.deepEqual(dr.resources.map((r) => r.name), [GATEWAY]);
      assert.deepEqual([...dr.removedResources].sort(), [...others].sort());
      check(dr, 'DeltaSecrets');
      d.end();
      const f = await edge1.fetchSecrets({ node: { id: 'edge-1' }, typeUrl: TYPE_SECRET, resourceNames: [GATEWAY, ...others] });
      assert.deepEqual(await namesOf(f), [GATEWAY]);
      check(f, 'FetchSecrets');
      for (const id of others) assert.match(cp.logText(), new RegExp(`"name":"${id}".*left out \\(denied [1-9]`));
    } finally {
      edge1.close();
    }
  });

  test('a workload SVID received over SDS is no node credential: xDS is denied and node renewal refused', async () => {
    const edge1 = new XdsCaller(cp.transport.tcpAddress!, cp.channelCredentials(await joinNode('edge-1')));
    let workload: { certChainPem: string; privateKeyPem: string };
    try {
      const f = await edge1.fetchSecrets({ node: { id: 'edge-1' }, typeUrl: TYPE_SECRET, resourceNames: [GATEWAY] });
      workload = tlsCertificateOf((await secretsOf(f))[0]!);
    } finally {
      edge1.close();
    }
    const impostor = new XdsCaller(cp.transport.tcpAddress!, cp.channelCredentials(workload));
    try {
      const s = impostor.sotw();
      s.send({ node: { id: 'edge-1' }, typeUrl: TYPE_SECRET, resourceNames: [GATEWAY, PAYMENTS] });
      const status = await s.status;
      assert.equal(status.code, grpc.status.PERMISSION_DENIED);
      assert.equal(s.responses.length, 0);
      errorTexts.push(status.details);
      const err = await rejection(cp.attestation(workload).renew({ publicKeyPem: nodeKey().publicKeyPem }));
      assert.equal(err.code, grpc.status.UNAUTHENTICATED);
      assert.equal(errorCode(err), 'NODE_NOT_AUTHENTICATED');
      errorTexts.push(err.details);
      assert.match(cp.logText(), new RegExp(`"code":"NOT_A_NODE_ID".*${GATEWAY} is not a node ID`));
    } finally {
      impostor.close();
    }
  });
});

describe('end to end: key material never leaves through a side door', () => {
  test('no log line and no error message holds a private key, a fragment of one, or a join token', async () => {
    const caDir = join(cp.dataDir, 'ca');
    const caKeys = await Promise.all((await readdir(caDir)).filter((f) => f.endsWith('.key.pem')).map((f) => readFile(join(caDir, f), 'utf8')));
    assert.ok(caKeys.length >= 1);
    const keys = [...cp.store.svids().map((s) => s.privateKeyPem), ...nodeKeys, ...caKeys];
    const log = cp.logText();
    // The paths that refuse were taken and logged, so a clean log means something.
    for (const expected of [/left out \(denied [1-9]/, /xDS caller not authenticated/, /JOIN_TOKEN_USED/, /JOIN_TOKEN_EXPIRED/, /node attest issued a node SVID/]) {
      assert.match(log, expected);
    }
    assertNoPrivateKey(log, keys, 'the log');
    for (const t of joinTokens) assert.ok(!log.includes(t), 'a join token is in the log');
    assert.ok(errorTexts.length >= 8, `error texts were collected (${errorTexts.length})`);
    for (const [i, e] of errorTexts.entries()) {
      assertNoPrivateKey(e, keys, `error message #${i}`);
      for (const t of joinTokens) assert.ok(!e.includes(t), `error message #${i} holds a join token`);
    }
  });
});
