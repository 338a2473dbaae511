// The bundle endpoint server (SPIFFE Federation §5): an HTTPS server answering GET / with this trust domain's
// published bundle document. Two profiles:
// - https_web: a Web PKI certificate and key from files, re-read when either file changes (cert-manager renewals);
//   a pair that does not load (mismatch, half-written) leaves the last good one serving.
// - https_spiffe: trustplane's own server SVID from the identity store, renewed with the rest.
// No client authentication of any kind (§5.2.1.3, §5.2.2.3). Everything a caller controls is bounded: header size and
// time, request time, idle keep-alive, connection count.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { FileWatch } from '../control-plane/file-watch.js';
import { splitHostPort } from '../control-plane/admin-http.js';
import { TrustplaneError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import type { IdentityStore } from '../store/identity-store.js';
import type { BundleDocumentSource, BundlePublisher, Publication } from './published-bundle.js';
import { ENDPOINT_TLS } from './tls-profile.js';

export type EndpointProfile = 'https_web' | 'https_spiffe';
export const ENDPOINT_PROFILES: readonly EndpointProfile[] = ['https_web', 'https_spiffe'];

export type ServingIdentity =
  | { readonly profile: 'https_web'; readonly certFile: string; readonly keyFile: string }
  | { readonly profile: 'https_spiffe'; readonly spiffeId: string };

export interface BundleEndpointOptions {
  readonly address: string;
  readonly identity: ServingIdentity;
  readonly store: IdentityStore;
  readonly publisher: BundlePublisher;
  /** The bundle document to publish; by default the own trust domain's bundle in the store. */
  readonly source?: () => BundleDocumentSource | undefined;
  readonly logger: Logger;
  /** Watch https_web files (default true; tests reload by calling reloadFiles()). */
  readonly watch?: boolean;
}

export const ENDPOINT_LIMITS = { headersTimeoutMs: 5_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, maxHeaderSize: 8 * 1024, maxConnections: 512 } as const;

export class BundleEndpointError extends TrustplaneError {}

export class BundleEndpointServer {
  readonly #server: Server;
  readonly #opts: BundleEndpointOptions;
  readonly #unsubscribe: () => void;
  readonly #watches: FileWatch[] = [];
  readonly #reloadListeners = new Set<(ok: boolean) => void>();
  #address = '';

  private constructor(opts: BundleEndpointOptions, first: SecureContextOptions) {
    this.#opts = opts;
    this.#server = createServer(
      {
        ...first,
        ...ENDPOINT_TLS,
        requestCert: false,
        headersTimeout: ENDPOINT_LIMITS.headersTimeoutMs,
        requestTimeout: ENDPOINT_LIMITS.requestTimeoutMs,
        keepAliveTimeout: ENDPOINT_LIMITS.keepAliveTimeoutMs,
        maxHeaderSize: ENDPOINT_LIMITS.maxHeaderSize,
      },
      (req, res) => this.#answer(req, res),
    );
    this.#server.maxConnections = ENDPOINT_LIMITS.maxConnections;
    this.#server.on('tlsClientError', () => {}); // a scanner's failed handshake is not ours to log at volume
    this.#republish();
    const td = opts.store.trustDomain;
    const identity = opts.identity;
    this.#unsubscribe = opts.store.subscribe((c) => {
      if (c.bundles.includes(td)) this.#republish();
      if (identity.profile === 'https_spiffe' && (c.svids.includes(identity.spiffeId) || c.bundles.includes(td))) this.#reloadSvid();
    });
    if (identity.profile === 'https_web' && (opts.watch ?? true)) {
      for (const f of [identity.certFile, identity.keyFile]) {
        this.#watches.push(new FileWatch(f, () => this.reloadFiles(), opts.logger.child({ file: f })));
      }
    }
  }

  static async start(opts: BundleEndpointOptions): Promise<BundleEndpointServer> {
    const { host, port } = splitHostPort(opts.address, 'bundle endpoint address');
    const first = opts.identity.profile === 'https_web' ? loadWebIdentity(opts.identity) : svidContext(opts.store, opts.identity.spiffeId);
    const s = new BundleEndpointServer(opts, first);
    try {
      await new Promise<void>((resolve, reject) => {
        s.#server.once('error', reject);
        s.#server.listen(port, host, () => {
          s.#server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      s.#unsubscribe();
      for (const w of s.#watches) w.close();
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new BundleEndpointError('BUNDLE_ENDPOINT_LISTEN_FAILED', `the bundle endpoint cannot listen on ${opts.address} (${code})`);
    }
    const a = s.#server.address() as AddressInfo;
    s.#address = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
    return s;
  }

  /** host:port it listens on (the real port when 0 was asked for). */
  get address(): string {
    return this.#address;
  }

  get profile(): EndpointProfile {
    return this.#opts.identity.profile;
  }

  /** What GET / answers now. */
  get publication(): Publication | undefined {
    return this.#opts.publisher.current;
  }

  /** Told of every https_web reload (from a file change or a call): whether the new pair is now served. */
  onFilesReloaded(listener: (ok: boolean) => void): () => void {
    this.#reloadListeners.add(listener);
    return () => this.#reloadListeners.delete(listener);
  }

  /** https_web: reads the certificate and key again; a pair that does not load changes nothing. */
  reloadFiles(): boolean {
    const ok = this.#reloadFiles();
    for (const l of [...this.#reloadListeners]) l(ok);
    return ok;
  }

  #reloadFiles(): boolean {
    const id = this.#opts.identity;
    if (id.profile !== 'https_web') return false;
    for (const w of this.#watches) w.taken();
    try {
      this.#server.setSecureContext({ ...loadWebIdentity(id), ...ENDPOINT_TLS });
      this.#opts.logger.info({ certFile: id.certFile }, 'bundle endpoint certificate reloaded');
      return true;
    } catch (err) {
      this.#opts.logger.error({ code: (err as TrustplaneError).code, error: (err as Error).message }, 'bundle endpoint certificate not reloaded; the last good one keeps serving');
      return false;
    }
  }

  async close(): Promise<void> {
    this.#unsubscribe();
    for (const w of this.#watches) w.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #republish(): void {
    const source = (this.#opts.source ?? (() => this.#opts.store.getBundle(this.#opts.store.trustDomain)))();
    if (!source) return;
    try {
      const p = this.#opts.publisher.publish(source);
      this.#opts.logger.info({ sequence: p.sequence }, 'bundle endpoint document published');
    } catch (err) {
      // The sequence could not be recorded: keep serving the previous document rather than an unrecorded number.
      this.#opts.logger.error({ code: (err as TrustplaneError).code, error: (err as Error).message }, 'bundle endpoint document not updated; the previous one keeps serving');
    }
  }

  #reloadSvid(): void {
    const id = this.#opts.identity;
    if (id.profile !== 'https_spiffe') return;
    try {
      this.#server.setSecureContext({ ...svidContext(this.#opts.store, id.spiffeId), ...ENDPOINT_TLS });
    } catch (err) {
      this.#opts.logger.warn({ error: (err as Error).message }, 'bundle endpoint SVID not updated; the last one keeps serving');
    }
  }

  #answer(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'https://endpoint').pathname;
    if (path !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the SPIFFE bundle is served at /\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const p = this.#opts.publisher.current;
    if (!p) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' }).end('no bundle published yet\n');
      return;
    }
    const body = Buffer.from(p.body, 'utf8');
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}

function loadWebIdentity(id: { certFile: string; keyFile: string }): SecureContextOptions {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(id.certFile);
    key = readFileSync(id.keyFile);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new BundleEndpointError('BUNDLE_ENDPOINT_CERT_UNREADABLE', `bundle endpoint certificate ${e.path ?? id.certFile} cannot be read (${e.code ?? 'error'})`);
  }
  const opts = { cert, key };
  try {
    createSecureContext(opts);
  } catch (err) {
    // OpenSSL's reason only (e.g. "key values mismatch"); never the key itself.
    const reason = String((err as Error).message).split('\n')[0]!.replace(/-----BEGIN[\s\S]*/, '');
    throw new BundleEndpointError('BUNDLE_ENDPOINT_CERT_INVALID', `bundle endpoint certificate ${id.certFile} and key ${id.keyFile} do not load together (${reason})`);
  }
  return opts;
}

function svidContext(store: IdentityStore, spiffeId: string): SecureContextOptions {
  const svid = store.getSvid(spiffeId);
  if (!svid) throw new BundleEndpointError('BUNDLE_ENDPOINT_SVID_MISSING', `the https_spiffe bundle endpoint needs the SVID ${spiffeId} in the identity store`);
  return { cert: svid.chain.map((c) => c.toString()).join(''), key: svid.privateKeyPem };
}
