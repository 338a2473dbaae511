// A bundle endpoint the test controls: which certificate it presents (setSecureContext) and how it answers each
// request (a handler), so every way a real endpoint can misbehave can be staged on a real HTTPS connection.
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export class FakeEndpoint {
  #server: Server | undefined;
  #port = 0;
  #tls: { cert: string; key: string };
  handler: Handler = (_req, res) => res.writeHead(503).end();
  /** Called with every request that reached the handler. */
  onRequest: (() => void) | undefined;

  constructor(tls: { cert: string; key: string }) {
    this.#tls = tls;
  }

  get url(): string {
    return `https://127.0.0.1:${this.#port}/`;
  }

  /** Listens (again) on the same port as before, if it had one. */
  async start(): Promise<void> {
    const server = createServer({ ...this.#tls }, (req, res) => {
      this.onRequest?.();
      this.handler(req, res);
    });
    server.on('tlsClientError', () => {});
    server.listen(this.#port, '127.0.0.1');
    await once(server, 'listening');
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  present(tls: { cert: string; key: string }): void {
    this.#tls = tls;
    this.#server?.setSecureContext(tls);
  }

  /** Answers 200 with this body. */
  serve(body: string): void {
    this.handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
