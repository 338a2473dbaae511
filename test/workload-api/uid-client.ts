// Run by the Workload API tests as another user (child_process with uid/gid): calls FetchX509SVID on a socket the
// way any process of that user would, and prints one JSON line: the connect errno (or OK), then the SPIFFE IDs
// received or the gRPC status. Usage: node uid-client.js <socket path>
import { connect } from 'node:net';
import { SpecClient } from './spec-wire.js';

async function main(): Promise<void> {
  const path = process.argv[2]!;
  const connected = await new Promise<string>((resolve) => {
    const s = connect(path);
    s.on('connect', () => {
      s.destroy();
      resolve('OK');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  const client = new SpecClient(path);
  const stream = client.fetchX509Svid();
  const report = await stream.next().then(
    (r) => ({ uid: process.getuid!(), connect: connected, spiffeIds: r.svids.map((s) => s.spiffeId) }),
    (e: { code: number; details: string }) => ({ uid: process.getuid!(), connect: connected, status: { code: e.code, details: e.details } }),
  );
  stream.cancel();
  client.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  },
);
