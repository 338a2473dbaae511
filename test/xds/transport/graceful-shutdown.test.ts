import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/clock.js';
import { IdentityStore } from '../../../src/store/identity-store.js';
import { startTransport } from '../../../src/xds/transport/transport.js';
import { addWhoService, captureLog, openWatch, rejection, whoami, WhoClient } from './harness.js';

function next<T>(stream: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => stream.once(event, resolve));
}

/** Resolves when the channel leaves READY (it does on GOAWAY). */
function leavesReady(client: grpc.Client): Promise<void> {
  const channel = client.getChannel();
  return new Promise((resolve) => {
    const wait = (): void =>
      channel.watchConnectivityState(grpc.connectivityState.READY, Infinity, () => {
        if (channel.getConnectivityState(false) === grpc.connectivityState.READY) wait();
        else resolve();
      });
    wait();
  });
}

async function start(clock: ManualClock) {
  const data = await mkdtemp(join(tmpdir(), 'tp-drain-'));
  await chmod(data, 0o700);
  return startTransport({
    store: new IdentityStore('example.org'),
    clock,
    log: captureLog().log,
    register: addWhoService,
    unix: [{ path: join(data, 'xds.sock'), principal: { kind: 'node', name: 'edge-1' } }],
    drainMs: 5_000,
  });
}

describe('graceful shutdown', () => {
  test('GOAWAY and no new connections, open streams keep flowing until the drain bound, then are cancelled', async () => {
    const clock = new ManualClock(Date.now());
    const t = await start(clock);
    const address = `unix:${t.unixSockets[0]}`;
    const client = new WhoClient(address, grpc.credentials.createInsecure());
    const stream = openWatch(client);
    assert.deepEqual(await next(stream, 'data'), { principal: 'node:edge-1' });

    const left = leavesReady(client);
    let closed = false;
    const closing = t.close().then(() => void (closed = true));
    await left; // the client saw GOAWAY

    const late = new WhoClient(address, grpc.credentials.createInsecure());
    assert.equal((await rejection(whoami(late))).code, grpc.status.UNAVAILABLE);
    late.close();

    stream.write({});
    assert.deepEqual(await next(stream, 'data'), { principal: 'node:edge-1' }, 'the open stream still works while draining');
    assert.equal(closed, false);

    const ended = next<grpc.ServiceError>(stream, 'error');
    clock.advance(5_000);
    const err = await ended;
    assert.equal(err.code, grpc.status.CANCELLED);
    await closing;
    client.close();
  });

  test('when every stream ends during the drain, shutdown completes without waiting for the bound', async () => {
    const clock = new ManualClock(Date.now());
    const t = await start(clock);
    const client = new WhoClient(`unix:${t.unixSockets[0]}`, grpc.credentials.createInsecure());
    const stream = openWatch(client);
    await next(stream, 'data');
    const closing = t.close();
    stream.end();
    await next(stream, 'status');
    client.close();
    await closing;
    assert.equal(clock.pending, 0, 'the drain timer was cancelled');
  });
});
