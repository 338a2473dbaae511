// A running XdsServer on 127.0.0.1:0 with a test authenticator (principal from call metadata), capturing logs and
// metrics, and a connected test client.
import * as grpc from '@grpc/grpc-js';
import { ManualClock } from '../../../src/clock.js';
import type { IdentityStore } from '../../../src/store/identity-store.js';
import type { XdsLimits } from '../../../src/xds/server/limits.js';
import type { XdsLogger, XdsMetrics } from '../../../src/xds/server/observability.js';
import { TableIdentityPolicy, type IdentityPolicy } from '../../../src/xds/policy.js';
import type { CallAuthenticator, NodePrincipal } from '../../../src/xds/principal.js';
import { ResourceCache } from '../../../src/xds/cache/resource-cache.js';
import { XdsServer } from '../../../src/xds/server/server.js';
import { XdsTestClient } from './client.js';
import { ORDERS, PAYMENTS, populatedStore, LATER } from './fixtures.js';

/** Principals as the test client names them in metadata. */
export const ORDERS_NODE = 'node:orders-1';
export const PAYMENTS_NODE = 'node:payments-1';

function parsePrincipal(s: string): NodePrincipal | undefined {
  if (s === 'insecure') return { kind: 'insecure' };
  if (s.startsWith('node:')) return { kind: 'node', name: s.slice(5) };
  if (s.startsWith('uid:')) return { kind: 'uid', uid: Number(s.slice(4)) };
  return undefined;
}

export const testAuthenticator: CallAuthenticator = {
  authenticate(call) {
    const v = call.metadata.get('x-test-principal')[0];
    return typeof v === 'string' ? parsePrincipal(v) : undefined;
  },
};

export const defaultPolicy = new TableIdentityPolicy([
  { spiffeId: ORDERS, principals: [{ kind: 'node', name: 'orders-1' }, { kind: 'uid', uid: 1001 }] },
  { spiffeId: LATER, principals: [{ kind: 'node', name: 'orders-1' }] },
  { spiffeId: PAYMENTS, principals: [{ kind: 'node', name: 'payments-1' }] },
]);

export interface LogEntry {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

export class Counters implements XdsMetrics {
  readonly counts = new Map<string, number>();
  connected = 0;
  readonly #waiters = new Set<() => boolean>();
  #inc(k: string, n = 1): void {
    this.counts.set(k, (this.counts.get(k) ?? 0) + n);
    this.#wake();
  }
  #wake(): void {
    for (const w of this.#waiters) if (w()) this.#waiters.delete(w);
  }
  #until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.add(() => (done() ? (resolve(), true) : false)));
  }
  /** Resolves when the counter reaches n (told by the server, not polled). */
  when(k: string, n: number): Promise<void> {
    return this.#until(() => this.get(k) >= n);
  }
  /** Resolves when exactly n streams are open. */
  whenConnected(n: number): Promise<void> {
    return this.#until(() => this.connected === n);
  }
  get(k: string): number {
    return this.counts.get(k) ?? 0;
  }
  connectedProxies(n: number): void {
    this.connected = n;
    this.#wake();
  }
  pushed(type: string): void {
    this.#inc(`pushed:${type}`);
  }
  nacked(type: string): void {
    this.#inc(`nacked:${type}`);
  }
  nameRejected(type: string, reason: string, count = 1): void {
    this.#inc(`rejected:${type}:${reason}`, count);
  }
  refused(limit: string): void {
    this.#inc(`refused:${limit}`);
  }
  pushSeconds(type: string): void {
    this.#inc(`pushSeconds:${type}`);
  }
}

export interface Harness {
  readonly xds: XdsServer;
  readonly store: IdentityStore;
  readonly resources: ResourceCache;
  readonly clock: ManualClock;
  readonly client: XdsTestClient;
  /** host:port of the server, for clients in other processes. */
  readonly address: string;
  readonly logs: LogEntry[];
  readonly metrics: Counters;
  close(): Promise<void>;
}

export async function startHarness(opts: { policy?: IdentityPolicy; store?: IdentityStore; limits?: Partial<XdsLimits> } = {}): Promise<Harness> {
  const store = opts.store ?? (await populatedStore());
  const resources = new ResourceCache();
  const clock = new ManualClock();
  const logs: LogEntry[] = [];
  const log = (level: string) => (obj: object, msg: string) => void logs.push({ level, obj: obj as Record<string, unknown>, msg });
  const logger: XdsLogger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const metrics = new Counters();
  const xds = new XdsServer({ store, resources, policy: opts.policy ?? defaultPolicy, clock, logger, metrics, ...(opts.limits ? { limits: opts.limits } : {}) });
  // gRPC's own receive limit, as the transport sets it from the same limits.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': xds.limits.requestBytes });
  xds.addTo(server, testAuthenticator);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const address = `127.0.0.1:${port}`;
  const client = new XdsTestClient(address);
  return {
    address,
    xds,
    store,
    resources,
    clock,
    client,
    logs,
    metrics,
    async close() {
      client.close();
      await xds.close();
      server.forceShutdown();
    },
  };
}
