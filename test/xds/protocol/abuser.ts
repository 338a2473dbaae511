// A hostile but authenticated caller, run in its own process by abuse.test.ts (so its memory and its event loop
// are not the server's): oversize and overmany names, more streams than it may open, subscription churn on every
// stream it may open, Delta subscriptions that grow past the limit, and rapid reconnects. It reports what the
// server did to it and stops on 'stop'.
//   node abuser.js ADDRESS PRINCIPAL STREAMS
import * as grpc from '@grpc/grpc-js';
import { create, toBinary } from '@bufbuild/protobuf';
import { DiscoveryRequestSchema } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { PATHS, XdsTestClient, type SotwClient } from './client.js';
import { TYPE_SECRET } from '../../../src/xds/type-urls.js';

const [address, principal, streamsArg] = process.argv.slice(2) as [string, string, string];
const allowed = Number(streamsArg);
const client = new XdsTestClient(address);
let stopping = false;
const codes = new Map<string, number>();
const note = (what: string): void => void codes.set(what, (codes.get(what) ?? 0) + 1);
const statusName = (c: number): string => grpc.status[c] ?? String(c);

const names = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => (i % 5 === 4 ? `not a name ${tag} ${i}` : `spiffe://example.org/${tag}/${i}`));
// Two subscriptions whose found part differs (ROOTCA or ALL), so each change draws a response: the churn goes as
// fast as the server answers, the way an aggressive proxy would, and the abuser's own memory stays flat.
const setA = ['ROOTCA', ...names(4_999, 'a')];
const setB = ['ALL', ...names(4_999, 'b')];
const encodedA = toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { typeUrl: TYPE_SECRET, resourceNames: setA }));
const encodedB = toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { typeUrl: TYPE_SECRET, resourceNames: setB }));

/** One-shot requests the server must refuse; each waits for its status. */
async function refusals(): Promise<void> {
  const oversize: Array<Parameters<SotwClient['send']>[0]> = [
    { node: { id: 'abuse' }, typeUrl: TYPE_SECRET, resourceNames: names(100_000, 'big') }, // 3 MB
    { node: { id: 'abuse' }, typeUrl: TYPE_SECRET, resourceNames: [`spiffe://example.org/${'x'.repeat(3_900_000)}`] },
    { node: { id: 'n'.repeat(3_000_000) }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] },
    { node: { id: 'n'.repeat(100_000) }, typeUrl: TYPE_SECRET, resourceNames: ['ROOTCA'] },
    { node: { id: 'abuse' }, typeUrl: TYPE_SECRET, resourceNames: names(5_001, 'over') },
    { node: { id: 'abuse' }, typeUrl: TYPE_SECRET, resourceNames: [`spiffe://example.org/${'y'.repeat(100_000)}`] },
  ];
  for (const req of oversize) {
    const s = client.sotw(PATHS.StreamSecrets, principal);
    s.send(req);
    note(`refused:${statusName((await s.status).code)}`);
  }
}

/** Every stream it may open (and ten more), churning between two 5,000-name subscriptions as fast as answered. */
function churn(count: number): Promise<void>[] {
  // A raw call: responses are not decoded or queued, only answered with the next change.
  const raw = new grpc.Client(address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set('x-test-principal', principal);
  const done: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const call = raw.makeBidiStreamRequest(PATHS.StreamSecrets, (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b, md);
    let ended = false;
    done.push(
      new Promise<void>((resolve) =>
        call.on('status', (st: grpc.StatusObject) => {
          ended = true;
          note(`churn:${statusName(st.code)}`);
          resolve();
        }),
      ),
    );
    call.on('error', () => undefined);
    // Encoded once; the node goes on the first request only, as Envoy does.
    const first = toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { node: { id: `churn-${i}` }, typeUrl: TYPE_SECRET, resourceNames: setA }));
    let flip = true;
    call.on('data', () => {
      if (ended) return;
      if (stopping) return void call.cancel();
      flip = !flip;
      call.write(flip ? encodedA : encodedB);
    });
    call.write(first);
  }
  return done;
}

/** A Delta stream that subscribes 5,000 new names per request until refused. */
async function deltaGrowth(): Promise<void> {
  const s = client.delta(PATHS.DeltaSecrets, principal);
  s.send({ node: { id: 'delta' }, typeUrl: TYPE_SECRET, resourceNamesSubscribe: names(5_000, 'd0') });
  for (let k = 1; k < 4; k++) s.send({ typeUrl: TYPE_SECRET, resourceNamesSubscribe: names(5_000, `d${k}`) });
  note(`delta:${statusName((await s.status).code)}`);
}

/** Open, ask, hang up, again (`first` resolves after the first round). */
async function reconnects(first: () => void): Promise<void> {
  let n = 0;
  while (!stopping) {
    const s = client.sotw(PATHS.StreamSecrets, principal);
    s.send({ node: { id: `reconnect-${n++}` }, typeUrl: TYPE_SECRET, resourceNames: setA.slice(0, 1_000) });
    await Promise.race([s.next().catch(() => undefined), s.status]);
    s.cancel();
    note('reconnect');
    if (n === 1) first();
  }
}

process.on('message', (m) => {
  if (m === 'stop') {
    stopping = true;
    client.close();
    setImmediate(() => process.exit(0));
  } else if (m === 'report') {
    process.send!({ type: 'report', codes: Object.fromEntries(codes) });
  }
});

await refusals();
await deltaGrowth();
// All but one of the streams it may open churn; the last place is the reconnect loop's; ten more are refused.
void churn(allowed - 1);
await new Promise<void>((resolve) => void reconnects(resolve));
void churn(10);
process.send!({ type: 'running', codes: Object.fromEntries(codes) });
