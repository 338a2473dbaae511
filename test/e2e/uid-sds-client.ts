// Run by the authorization test as another user (child_process with uid/gid): tries the Unix socket the way any
// process of that user would, then asks it for secrets over SotW StreamSecrets, and prints one JSON line with
// what happened: the connect errno (or OK), and the first response (base64) or the gRPC status.
//
// It imports nothing but Node's built-ins and is handed to `node --input-type=module -e` as text (see
// uidClientSource), so the other user needs no access to the checkout: the tests pass in a clone under a 0700
// home directory, which those users cannot traverse. gRPC is spoken directly over HTTP/2, and the one request is
// encoded by hand (DiscoveryRequest: node = 2 {id = 1}, resource_names = 3, type_url = 4).
// Usage: node --input-type=module -e "$(cat uid-sds-client.js)" <socket path> <JSON array of secret names>
import { connect as netConnect } from 'node:net';
import { connect as h2Connect } from 'node:http2';

export interface UidClientReport {
  readonly uid: number;
  /** 'OK' or the errno code of a plain connect(2) to the socket. */
  readonly connect: string;
  /** The first DiscoveryResponse, base64, when there was one. */
  readonly response?: string;
  /** The gRPC status when the stream failed instead. */
  readonly status?: { readonly code: number; readonly details: string };
}

const STREAM_SECRETS = '/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets';
const TYPE_SECRET = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

function field(num: number, bytes: Buffer): Buffer {
  return Buffer.concat([varint((num << 3) | 2), varint(bytes.length), bytes]);
}

function discoveryRequest(nodeId: string, names: readonly string[]): Buffer {
  return Buffer.concat([field(2, field(1, Buffer.from(nodeId))), ...names.map((n) => field(3, Buffer.from(n))), field(4, Buffer.from(TYPE_SECRET))]);
}

async function main(): Promise<void> {
  const [path, namesJson] = process.argv.slice(-2);
  if (!path || !namesJson) throw new Error('usage: uid-sds-client <socket path> <JSON array of secret names>');
  const uid = process.getuid!();
  const connected = await new Promise<string>((resolve) => {
    const s = netConnect(path);
    s.on('connect', () => {
      s.destroy();
      resolve('OK');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  const report = await new Promise<UidClientReport>((resolve) => {
    const session = h2Connect('http://localhost', { createConnection: () => netConnect(path) });
    const fail = (code: number, details: string): void => resolve({ uid, connect: connected, status: { code, details } });
    session.on('error', (e: NodeJS.ErrnoException) => fail(14, `connection failed: ${e.code ?? e.message}`));
    const stream = session.request({ ':method': 'POST', ':path': STREAM_SECRETS, 'content-type': 'application/grpc', te: 'trailers' });
    let buf = Buffer.alloc(0);
    const statusOf = (h: Record<string, unknown>): boolean => {
      if (h['grpc-status'] === undefined) return false;
      fail(Number(h['grpc-status']), decodeURIComponent(String(h['grpc-message'] ?? '')));
      return true;
    };
    stream.on('response', (h) => statusOf(h));
    stream.on('trailers', (h) => statusOf(h));
    stream.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) resolve({ uid, connect: connected, response: buf.subarray(5, 5 + buf.readUInt32BE(1)).toString('base64') });
    });
    stream.on('error', (e: Error) => fail(14, e.message));
    stream.on('close', () => fail(stream.rstCode ?? 2, 'stream closed without a response'));
    const msg = discoveryRequest(`uid-${uid}`, JSON.parse(namesJson) as string[]);
    const header = Buffer.alloc(5);
    header.writeUInt32BE(msg.length, 1);
    stream.write(Buffer.concat([header, msg]));
  });
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

// Only when run as the client, not when the test imports the report type.
if (process.argv.includes('--uid-sds-client')) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(2);
    },
  );
}
