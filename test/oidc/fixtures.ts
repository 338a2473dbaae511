// A relying party's view of the OIDC discovery endpoint: HTTPS to a DNS name (the issuer's host) that resolves to
// the test server, trusting the server's own certificate, as a fetch implementation jose can use.
import { execFileSync } from 'node:child_process';
import { request } from 'node:https';
import { join } from 'node:path';

export const ISSUER_HOST = 'oidc.example.test';

/** A self-signed certificate for ISSUER_HOST, written as cert.pem and key.pem in dir (openssl, as an operator would). */
export function makeServerCert(dir: string, name = 'cert'): { certFile: string; keyFile: string } {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${ISSUER_HOST}`,
    '-addext', `subjectAltName=DNS:${ISSUER_HOST}`, '-days', '2', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  return { certFile, keyFile };
}

export interface Fetched {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly peerFingerprint: string;
}

/** GET over HTTPS: the URL's host name is sent as SNI and Host, the connection goes to `connectTo`. */
export function httpsGet(url: URL, connectTo: string, ca: string, headers: Record<string, string> = {}): Promise<Fetched> {
  const [host, port] = [connectTo.slice(0, connectTo.lastIndexOf(':')), Number(connectTo.slice(connectTo.lastIndexOf(':') + 1))];
  return new Promise((ok, fail) => {
    const req = request({ host, port, path: url.pathname + url.search, method: 'GET', servername: url.hostname, ca, headers: { host: url.host, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h[k] = v;
        const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate?.();
        ok({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks).toString('utf8'), peerFingerprint: peer?.fingerprint256 ?? '' });
      });
    });
    req.on('error', fail);
    req.end();
  });
}

/** A fetch implementation (for jose's customFetch) over httpsGet. */
export function fetchVia(connectTo: () => string, ca: () => string, log: string[] = []): (url: string, init: { headers: Headers }) => Promise<Response> {
  return async (url, init) => {
    log.push(url);
    const r = await httpsGet(new URL(url), connectTo(), ca(), Object.fromEntries(init.headers.entries()));
    return new Response(r.body, { status: r.status, headers: r.headers });
  };
}
