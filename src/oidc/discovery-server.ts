// The OIDC discovery endpoint's I/O edge: serves the discovery document and the JWKS of the JWT authorities
// over HTTPS with a certificate from files (swapped in when the files change; a bad pair keeps the last good one),
// or over plain HTTP when the operator says a TLS-terminating proxy is in front. Bodies are rendered once per key
// change; requests are bounded (GET/HEAD only, small headers, short timeouts, a connection cap).
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import { splitHostPort } from '../control-plane/admin-http.js';
import { FileWatch } from '../control-plane/file-watch.js';
import { TrustplaneError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import type { JwtAuthority } from '../spiffe/jwt-authority.js';
import { DISCOVERY_MAX_AGE_SECONDS, discoveryDocument, etagOf, jwksDocument, servedPaths } from './discovery.js';

const MAX_CONNECTIONS = 1024;

/**
 * The JWT authorities to publish: the embedded CA's keys, or on a replica every live replica's (the shared bundle,
 * src/replica/shared-jwt-keys.ts), whose content can change without any local sequence moving.
 */
export interface OidcKeySource {
  authorities(): readonly JwtAuthority[];
}

export interface OidcDiscoveryOptions {
  /** HOST:PORT to listen on. */
  readonly address: string;
  readonly issuer: URL;
  readonly keys: OidcKeySource;
  /** Cache-Control max-age of the JWKS (see jwksMaxAgeSeconds). */
  readonly jwksMaxAgeSeconds: number;
  /** HTTPS with this certificate chain and key (PEM files), reloaded when they change. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** Plain HTTP, for a TLS-terminating proxy in front; must be said explicitly. */
  readonly behindTlsProxy?: boolean;
  readonly logger: Logger;
}

export interface CertificateReload {
  readonly ok: boolean;
  readonly error?: string;
}

interface Rendered {
  readonly body: string;
  readonly etag: string;
}

export class OidcDiscoveryServer {
  readonly #opts: OidcDiscoveryOptions;
  readonly #server: Server | HttpsServer;
  readonly #paths: { discovery: string; keys: string };
  readonly #discovery: Rendered;
  readonly #reloadListeners = new Set<(r: CertificateReload) => void>();
  #watches: FileWatch[] = [];
  /** The last JWKS rendered, under its key IDs (a key ID names one public key for good: random, never reused). */
  #keys: { kids: string; rendered: Rendered } | undefined;
  #address = '';

  private constructor(opts: OidcDiscoveryOptions) {
    this.#opts = opts;
    this.#paths = servedPaths(opts.issuer);
    this.#discovery = render(discoveryDocument(opts.issuer));
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.#handle(req, res);
    if (opts.tls) {
      this.#server = createHttpsServer({ ...readPair(opts.tls), minVersion: 'TLSv1.2' }, handler);
    } else if (opts.behindTlsProxy) {
      this.#server = createHttpServer(handler);
    } else {
      throw new TrustplaneError('OIDC_TLS_REQUIRED', 'OIDC discovery needs --oidc-cert and --oidc-key (HTTPS), or --oidc-behind-tls-proxy to serve plain HTTP behind a TLS-terminating proxy');
    }
    this.#server.headersTimeout = 5000;
    this.#server.requestTimeout = 10_000;
    this.#server.keepAliveTimeout = 5000;
    this.#server.maxHeadersCount = 64;
    this.#server.maxConnections = MAX_CONNECTIONS;
  }

  static async start(opts: OidcDiscoveryOptions): Promise<OidcDiscoveryServer> {
    const s = new OidcDiscoveryServer(opts);
    const { host, port } = splitHostPort(opts.address, 'OIDC discovery address');
    await new Promise<void>((ok, fail) => {
      s.#server.once('error', fail);
      s.#server.listen(port, host, () => ok());
    });
    const bound = s.#server.address() as AddressInfo;
    s.#address = `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`;
    if (opts.tls) {
      const log = opts.logger.child({ component: 'oidc-discovery' });
      s.#watches = [opts.tls.certFile, opts.tls.keyFile].map((f) => new FileWatch(f, () => s.reloadCertificate(), log));
    }
    return s;
  }

  get address(): string {
    return this.#address;
  }

  get scheme(): 'https' | 'http' {
    return this.#opts.tls ? 'https' : 'http';
  }

  /** Told of every certificate reload attempt (a file change, or a call). */
  onCertificateReload(listener: (r: CertificateReload) => void): () => void {
    this.#reloadListeners.add(listener);
    return () => this.#reloadListeners.delete(listener);
  }

  /** Reads the certificate and key files again; a pair that does not load keeps the current one serving. */
  reloadCertificate(): CertificateReload {
    const tls = this.#opts.tls;
    if (!tls) return { ok: false, error: 'not serving HTTPS' };
    for (const w of this.#watches) w.taken();
    let result: CertificateReload;
    try {
      const pair = readPair(tls);
      (this.#server as HttpsServer).setSecureContext(pair);
      result = { ok: true };
      this.#opts.logger.info({ certFile: tls.certFile }, 'OIDC discovery certificate reloaded');
    } catch (err) {
      result = { ok: false, error: (err as Error).message };
      this.#opts.logger.error({ certFile: tls.certFile, keyFile: tls.keyFile, error: result.error }, 'OIDC discovery certificate not reloaded; the previous one keeps serving');
    }
    for (const l of [...this.#reloadListeners]) l(result);
    return result;
  }

  async close(): Promise<void> {
    for (const w of this.#watches) w.close();
    await new Promise<void>((ok) => {
      this.#server.close(() => ok());
      this.#server.closeAllConnections?.();
    });
  }

  #jwks(): Rendered {
    const authorities = this.#opts.keys.authorities();
    const kids = authorities.map((a) => a.keyId).join(' ');
    if (this.#keys?.kids !== kids) this.#keys = { kids, rendered: render(jwksDocument(authorities)) };
    return this.#keys.rendered;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const doc = path === this.#paths.discovery ? this.#discovery : path === this.#paths.keys ? this.#jwks() : undefined;
    if (!doc) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; try ${this.#paths.discovery} or ${this.#paths.keys}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const maxAge = doc === this.#discovery ? DISCOVERY_MAX_AGE_SECONDS : this.#opts.jwksMaxAgeSeconds;
    const headers = { 'cache-control': `public, max-age=${maxAge}, must-revalidate`, etag: doc.etag };
    const match = req.headers['if-none-match'];
    if (typeof match === 'string' && match.split(',').some((t) => t.trim().replace(/^W\//, '') === doc.etag)) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(doc.body) });
    res.end(req.method === 'HEAD' ? undefined : doc.body);
  }
}

function render(doc: unknown): Rendered {
  const body = `${JSON.stringify(doc, null, 2)}\n`;
  return { body, etag: etagOf(body) };
}

/** The certificate chain and key, checked to belong together; errors name the files, never their contents. */
function readPair(tls: { certFile: string; keyFile: string }): { cert: string; key: string } {
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(tls.certFile, 'utf8');
    key = readFileSync(tls.keyFile, 'utf8');
  } catch (err) {
    throw new TrustplaneError('OIDC_TLS_FILES', `cannot read ${tls.certFile} or ${tls.keyFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    createSecureContext({ cert, key });
  } catch {
    throw new TrustplaneError('OIDC_TLS_FILES', `${tls.certFile} and ${tls.keyFile} are not a PEM certificate chain and its private key`);
  }
  return { cert, key };
}
