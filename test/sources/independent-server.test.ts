// The Workload API identity source against a minimal Workload API server written here from the spec (raw grpc-js,
// the spec's wire format by hand in ../workload-api/spec-wire.ts, certificates from the openssl CLI): nothing of
// trustplane's server or minting is involved. It checks the header it receives, streams full states, redacts,
// denies, and goes away and comes back, as a SPIRE agent may.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { silentLogger } from '../../src/observe/log.js';
import { WorkloadApiSource } from '../../src/sources/workload-api-source.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { IdentityStore } from '../../src/store/identity-store.js';
import { parseWorkloadApiAddress } from '../../src/workload-api/address.js';
import { encodeX509SvidResponse } from '../workload-api/spec-wire.js';
import { issueSvid, makeCa, type OpensslCa, type OpensslSvid } from './openssl-pki.js';

const TD = 'example.org';
const PARTNER = 'partner.example.net';
const WEB = `spiffe://${TD}/ns/shop/sa/web`;
const ORDERS = `spiffe://${TD}/ns/shop/sa/orders`;
const ELSEWHERE = `spiffe://other.example/ns/x/sa/y`;

/** A minimal SpiffeWorkloadAPI: FetchX509SVID only, the state set by the test, pushed to every open stream. */
class SpecAgent {
  readonly headers: string[][] = [];
  readonly #calls = new Set<grpc.ServerWritableStream<Buffer, Buffer>>();
  #state: Buffer | grpc.StatusObject | undefined;
  #server: grpc.Server | undefined;

  constructor(readonly path: string) {}

  async start(): Promise<void> {
    const server = new grpc.Server();
    const raw = (b: Buffer): Buffer => b;
    server.addService(
      { FetchX509SVID: { path: '/SpiffeWorkloadAPI/FetchX509SVID', requestStream: false, responseStream: true, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } },
      {
        FetchX509SVID: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
          const h = call.metadata.get('workload.spiffe.io').map(String);
          this.headers.push(h);
          if (h.length !== 1 || h[0] !== 'true') return void call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'security header missing' });
          this.#calls.add(call);
          call.on('cancelled', () => this.#calls.delete(call));
          this.#send(call);
        },
      },
    );
    await new Promise<void>((ok, fail) => server.bindAsync(`unix:${this.path}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? fail(e) : ok())));
    this.#server = server;
  }

  /** Sets the state every stream gets now (a response, or a status that ends the streams). */
  set(state: Buffer | grpc.StatusObject): void {
    this.#state = state;
    for (const c of [...this.#calls]) this.#send(c);
  }

  #send(call: grpc.ServerWritableStream<Buffer, Buffer>): void {
    if (this.#state === undefined) return;
    if (Buffer.isBuffer(this.#state)) call.write(this.#state);
    else {
      this.#calls.delete(call);
      call.emit('error', this.#state);
    }
  }

  stop(): void {
    this.#server?.forceShutdown();
    this.#calls.clear();
  }
}

describe('identity source: a minimal independent Workload API server', () => {
  let dir: string;
  let ca: OpensslCa;
  let partnerCa: OpensslCa;
  let svids: Record<string, OpensslSvid>;
  let agent: SpecAgent;
  let clock: ManualClock;
  let store: IdentityStore;
  let source: WorkloadApiSource;

  const response = (entries: OpensslSvid[], federated = true, keyOf: (s: OpensslSvid) => Buffer = (s) => s.keyDer): Buffer =>
    encodeX509SvidResponse({
      svids: entries.map((s) => ({ spiffeId: s.spiffeId, x509Svid: s.cert.raw, x509SvidKey: keyOf(s), bundle: ca.cert.raw })),
      ...(federated ? { federatedBundles: { [`spiffe://${PARTNER}`]: partnerCa.cert.raw } } : {}),
    });

  /** Resolves at the first change the source reports (a response applied, or the stream ended) after which `check` holds. */
  const changed = (check: () => boolean = () => true): Promise<void> =>
    new Promise((ok) => {
      const off = source.onChange(() => {
        if (!check()) return;
        off();
        ok();
      });
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-spec-agent-'));
    ca = makeCa(dir, 'spire');
    partnerCa = makeCa(dir, 'partner');
    svids = { web: issueSvid(ca, WEB), orders: issueSvid(ca, ORDERS), elsewhere: issueSvid(partnerCa, ELSEWHERE) };
    agent = new SpecAgent(join(dir, 'agent.sock'));
    await agent.start();
    agent.set(response([svids.web!, svids.orders!]));
    clock = new ManualClock(Date.now());
    store = new IdentityStore(TD);
    source = new WorkloadApiSource({ address: parseWorkloadApiAddress(`unix://${agent.path}`), store, clock, logger: silentLogger, random: () => 0.5 });
    source.setIdentities([WEB, ORDERS].map((id) => SpiffeId.parse(id)));
    await source.started();
  });
  after(() => {
    source.close();
    agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the first response fills the store: SVIDs with their keys, own bundle, federated bundle; the header was sent', () => {
    assert.deepEqual(agent.headers, [['true']]);
    assert.equal(store.getSvid(WEB)!.serial, svids.web!.cert.serialNumber.toUpperCase());
    assert.equal(store.getSvid(ORDERS)!.serial, svids.orders!.cert.serialNumber.toUpperCase());
    // The store's PKCS#8 PEM is the DER key the server sent.
    assert.deepEqual(createPrivateKey(store.getSvid(WEB)!.privateKeyPem).export({ type: 'pkcs8', format: 'der' }), svids.web!.keyDer);
    assert.deepEqual(store.getBundle(TD)!.x509Authorities.map((c) => c.fingerprint256), [ca.cert.fingerprint256]);
    assert.deepEqual(store.getBundle(PARTNER)!.x509Authorities.map((c) => c.fingerprint256), [partnerCa.cert.fingerprint256]);
    assert.deepEqual(source.status()['missing'], []);
    assert.deepEqual(source.ready(), { ready: true });
  });

  test('a rotation (a new full state) replaces the SVID', async () => {
    const rotated = issueSvid(ca, WEB);
    clock.advanceTo(Date.now());
    const c = changed();
    agent.set(response([rotated, svids.orders!]));
    await c;
    assert.equal(store.getSvid(WEB)!.serial, rotated.cert.serialNumber.toUpperCase());
    svids.web = rotated;
  });

  test('entries that fail the checks are rejected with a reason, the rest kept; a dropped identity and bundle are redacted', async () => {
    const c = changed();
    // orders with web's key; an SVID of another trust domain; no federated bundles this time.
    agent.set(response([svids.web!, { ...svids.orders!, keyDer: svids.web!.keyDer }, svids.elsewhere!], false));
    await c;
    const rejected = source.status()['rejected'] as { spiffeId: string; reason: string }[];
    assert.deepEqual(rejected.map((r) => r.spiffeId), [ORDERS, ELSEWHERE]);
    assert.match(rejected[0]!.reason, /not the key of the leaf/);
    assert.match(rejected[1]!.reason, /not in trust domain example\.org/);
    assert.ok(!JSON.stringify(rejected).includes('PRIVATE'), 'no key material in the reasons');
    assert.ok(store.getSvid(WEB));
    assert.equal(store.getSvid(ORDERS), undefined, 'not given (validly) any more: redacted');
    assert.equal(store.getBundle(PARTNER), undefined, 'the federated bundle was dropped: redacted');
    assert.deepEqual(source.status()['missing'], [ORDERS]);
    assert.match(source.ready().reason ?? '', /not given .*orders/);
  });

  test('a response without a usable SVID is discarded (svids is mandatory): the store keeps what it had', async () => {
    const c = changed();
    agent.set(response([svids.elsewhere!]));
    await c;
    assert.ok(store.getSvid(WEB), 'kept');
    assert.match(String(source.status()['lastError']), /all rejected was discarded/);
  });

  test('PermissionDenied withdraws every SVID (bundles stay); the next attempt after the backoff restores them', async () => {
    let c = changed();
    agent.set(response([svids.web!, svids.orders!]));
    await c;
    c = changed();
    agent.set({ code: grpc.status.PERMISSION_DENIED, details: 'no entry for this workload', metadata: new grpc.Metadata() });
    await c;
    assert.equal(store.getSvid(WEB), undefined);
    assert.equal(store.getSvid(ORDERS), undefined);
    assert.ok(store.getBundle(TD), 'the bundle is not secret and stays');
    assert.equal(source.ready().ready, false);
    assert.match(String(source.status()['lastError']), /PERMISSION_DENIED/);
    // Backoff: 500 ms (×1.0 with the jitter pinned at the middle) after the first failure.
    assert.equal(Date.parse(String(source.status()['nextRetryAt'])) - clock.now(), 500);
    agent.set(response([svids.web!, svids.orders!]));
    c = changed();
    clock.advance(500);
    await c;
    assert.ok(store.getSvid(WEB) && store.getSvid(ORDERS));
    assert.equal(source.status()['connected'], true);
  });

  test('the agent restarting: the last SVIDs keep serving, readiness says so, and the new agent is followed', async () => {
    // The renewed SVID is issued (openssl, real time) and the clock brought up to its notBefore while the stream is
    // still open, when no retry timer is pending: done after the stop, bringing the clock to real time could fire the
    // retry early (openssl is slow under load), before the new agent has its state.
    const renewed = issueSvid(ca, WEB);
    clock.advanceTo(Date.now());
    let c = changed(() => source.status()['connected'] === false);
    agent.stop();
    await c;
    assert.ok(store.getSvid(WEB), 'still served');
    assert.match(source.ready().reason ?? '', /unreachable since .*serving the last SVIDs/);
    const retryAt = source.status()['nextRetryAt'];
    assert.equal(typeof retryAt, 'string', 'a retry is scheduled');
    agent = new SpecAgent(agent.path);
    await agent.start();
    agent.set(response([renewed, svids.orders!]));
    c = changed(() => source.status()['connected'] === true);
    assert.equal(source.status()['nextRetryAt'], retryAt, 'not retried yet: the clock has not moved');
    clock.advanceTo(Date.parse(String(retryAt)));
    await c;
    assert.equal(store.getSvid(WEB)!.serial, renewed.cert.serialNumber.toUpperCase());
    assert.deepEqual(source.ready(), { ready: true });
    assert.deepEqual(agent.headers, [['true']]);
  });
});

describe('identity source: no agent at start', () => {
  test('started() fails after the start timeout with a clear reason, having retried with backoff', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-no-agent-'));
    const clock = new ManualClock(Date.now());
    const source = new WorkloadApiSource({ address: parseWorkloadApiAddress(`unix://${join(dir, 'missing.sock')}`), store: new IdentityStore(TD), clock, logger: silentLogger, random: () => 0.5, startTimeoutMs: 10_000 });
    try {
      source.setIdentities([SpiffeId.parse(WEB)]);
      await new Promise<void>((ok) => source.onChange(ok));
      assert.match(String(source.status()['lastError']), /^UNAVAILABLE: .*ENOENT/);
      assert.deepEqual(source.ready(), { ready: false, reason: `no SVIDs yet from the Workload API at unix://${join(dir, 'missing.sock')} (${String(source.status()['lastError'])})` });
      const failed = source.started().then(() => assert.fail('started without an agent'), (e: Error & { code?: string }) => e);
      clock.advance(10_000);
      const e = await failed;
      assert.equal(e.code, 'IDENTITY_SOURCE_UNAVAILABLE');
      assert.match(e.message, /no response from the Workload API at unix:\/\/.*missing\.sock within 10 s \(last error: UNAVAILABLE/);
    } finally {
      source.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('identity source: a server that refuses the protocol', () => {
  for (const code of [grpc.status.INVALID_ARGUMENT, grpc.status.UNIMPLEMENTED]) {
    test(`${grpc.status[code]}: reported, not retried (the spec's client rule), start-up fails at once`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tp-refusing-agent-'));
      const agent = new SpecAgent(join(dir, 'agent.sock'));
      await agent.start();
      agent.set({ code, details: 'no such thing', metadata: new grpc.Metadata() });
      const clock = new ManualClock(Date.now());
      const source = new WorkloadApiSource({ address: parseWorkloadApiAddress(`unix://${agent.path}`), store: new IdentityStore(TD), clock, logger: silentLogger });
      try {
        source.setIdentities([SpiffeId.parse(WEB)]);
        await assert.rejects(source.started(), { code: 'IDENTITY_SOURCE_REFUSED' });
        assert.equal(source.status()['retrying'], false);
        assert.equal(source.status()['nextRetryAt'], undefined);
        assert.equal(clock.pending, 0, 'no retry timer, no start timer');
        assert.match(source.ready().reason ?? '', new RegExp(`refused the request \\(${grpc.status[code]}: no such thing\\); not retrying`));
        assert.equal(agent.headers.length, 1);
      } finally {
        source.close();
        agent.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

