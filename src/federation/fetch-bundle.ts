// The bundle endpoint client's transport (SPIFFE Federation §5.2.1.4, §5.2.2.4): one HTTPS GET, authenticated per
// profile, bounded in time and size, following at most a few redirects under the same checks. It returns the body
// (and, for https_spiffe, the chain the endpoint presented); judging the document is accept.ts's job.
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { isIP } from 'node:net';
import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import type { Clock } from '../clock.js';
import { BundleSet, type X509Bundle } from '../spiffe/bundle.js';
import { verifyX509Svid } from '../spiffe/x509svid.js';
import type { BundleEndpointParams } from './endpoint-params.js';
import { parseBundleEndpointUrl } from './endpoint-url.js';
import { FederationError, type FetchFailureReason } from './errors.js';

export interface FetchLimits {
  /** Largest body accepted; a bundle of dozens of authorities is a few tens of KB. */
  readonly maxBodyBytes: number;
  /** For the whole exchange: connect, TLS, headers and body, redirects included. */
  readonly timeoutMs: number;
  readonly maxRedirects: number;
}

export const DEFAULT_FETCH_LIMITS: FetchLimits = { maxBodyBytes: 1024 * 1024, timeoutMs: 10_000, maxRedirects: 3 };

export interface FetchContext {
  readonly clock: Clock;
  readonly limits?: Partial<FetchLimits>;
  /** https_spiffe: the latest bundle of the endpoint SPIFFE ID's trust domain. */
  readonly endpointBundle?: X509Bundle;
  /**
   * https_web trust anchors (PEM). Unset: Node's defaults, i.e. the Mozilla CA store plus NODE_EXTRA_CA_CERTS.
   */
  readonly webCa?: string | readonly string[];
}

export interface FetchedDocument {
  readonly body: string;
  /** The URL that answered (after redirects). */
  readonly url: string;
  /** https_spiffe: the endpoint's verified SVID chain, leaf first. */
  readonly endpointChain?: readonly X509Certificate[];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export async function fetchBundleDocument(params: BundleEndpointParams, ctx: FetchContext): Promise<FetchedDocument> {
  const limits = { ...DEFAULT_FETCH_LIMITS, ...ctx.limits };
  if (params.profile === 'https_spiffe') {
    if (!params.endpointSpiffeId) throw new FederationError('endpoint_identity', `${params.trustDomain.name}: https_spiffe needs the endpoint's SPIFFE ID`);
    const authorities = ctx.endpointBundle?.x509Authorities ?? [];
    if (authorities.length === 0) {
      throw new FederationError('no_endpoint_bundle', `${params.url}: no bundle of trust domain "${params.endpointSpiffeId.trustDomain.name}" to authenticate the endpoint ${params.endpointSpiffeId} with`);
    }
  }
  let cancel: ((e: Error) => void) | undefined;
  const timer = ctx.clock.setTimer(limits.timeoutMs, () => cancel?.(new FederationError('timeout', `${params.url}: no complete answer within ${limits.timeoutMs} ms`)));
  try {
    let url = params.url;
    for (let hop = 0; ; hop++) {
      const r = await getOnce(url, params, ctx, limits, (c) => (cancel = c));
      if (r.kind === 'document') return r.doc;
      if (hop >= limits.maxRedirects) throw new FederationError('redirect', `${params.url}: more than ${limits.maxRedirects} redirects`);
      const next = parseBundleEndpointUrl(new URL(r.location, url).toString());
      if ('reason' in next) throw new FederationError('redirect', `${url}: redirect to an invalid bundle endpoint URL ${JSON.stringify(r.location.slice(0, 200))} (${next.reason})`);
      url = next.url.toString();
    }
  } finally {
    timer.cancel();
  }
}

type Once = { kind: 'document'; doc: FetchedDocument } | { kind: 'redirect'; location: string };

function getOnce(url: string, params: BundleEndpointParams, ctx: FetchContext, limits: FetchLimits, onCancel: (c: (e: Error) => void) => void): Promise<Once> {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  let endpointChain: X509Certificate[] | undefined;
  const spiffe = params.profile === 'https_spiffe';
  return new Promise<Once>((resolve, reject) => {
    let settled = false;
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(e);
    };
    const req = request(target, {
      method: 'GET',
      headers: { accept: 'application/json' },
      agent: false,
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
      ...(isIP(host) ? {} : { servername: host }),
      ...(spiffe
        ? {
            ca: ctx.endpointBundle!.x509Authorities.map((c) => c.toString()),
            // The SVID check of §5.2.2.4: a valid X509-SVID (verified against the bundle of its own trust domain)
            // for exactly the configured endpoint SPIFFE ID. Host names play no part in this profile.
            checkServerIdentity: (_host: string, cert: PeerCertificate) => {
              const chain = peerChain(cert as DetailedPeerCertificate);
              try {
                const v = verifyX509Svid(chain, new BundleSet([ctx.endpointBundle!]), new Date(ctx.clock.now()));
                if (!v.spiffeId.equals(params.endpointSpiffeId)) {
                  return new FederationError('endpoint_identity', `${url}: the endpoint presented an SVID for ${v.spiffeId}, not the configured ${params.endpointSpiffeId}`);
                }
              } catch (err) {
                return new FederationError('endpoint_identity', `${url}: the endpoint's certificate is not a valid X509-SVID of ${params.endpointSpiffeId}: ${(err as Error).message}`);
              }
              endpointChain = chain;
              return undefined;
            },
          }
        : { ...(ctx.webCa ? { ca: [...(typeof ctx.webCa === 'string' ? [ctx.webCa] : ctx.webCa)] } : {}), checkServerIdentity }),
    });
    onCancel(fail);
    req.on('error', (err) => fail(classify(err, url, spiffe)));
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status) && typeof res.headers.location === 'string') {
        res.resume();
        settled = true;
        resolve({ kind: 'redirect', location: res.headers.location });
        req.destroy();
        return;
      }
      if (status !== 200) {
        res.resume();
        return fail(new FederationError('http_status', `${url}: HTTP ${status}${res.statusMessage ? ` ${res.statusMessage.slice(0, 80)}` : ''}; expected 200 with the SPIFFE bundle`));
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > limits.maxBodyBytes) {
        return fail(new FederationError('too_large', `${url}: the body is ${declared} bytes; at most ${limits.maxBodyBytes} are accepted`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limits.maxBodyBytes) return fail(new FederationError('too_large', `${url}: the body exceeds ${limits.maxBodyBytes} bytes; at most ${limits.maxBodyBytes} are accepted`));
        chunks.push(chunk);
      });
      res.on('error', (err) => fail(classify(err, url, spiffe)));
      res.on('end', () => {
        if (settled) return;
        let body: string;
        try {
          body = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
        } catch {
          return fail(new FederationError('malformed_json', `${url}: the body is not UTF-8`));
        }
        settled = true;
        resolve({ kind: 'document', doc: { body, url, ...(endpointChain ? { endpointChain } : {}) } });
      });
    });
    req.end();
  });
}

/** The chain the peer sent, leaf first, as node:tls links it (stopping at a self-signed certificate). */
function peerChain(cert: DetailedPeerCertificate): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  for (let c: DetailedPeerCertificate | undefined = cert; c?.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    out.push(new X509Certificate(c.raw));
  }
  return out;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

function classify(err: unknown, url: string, spiffe: boolean): FederationError {
  if (err instanceof FederationError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? '';
  if (UNREACHABLE.has(code)) return new FederationError('unreachable', `${url}: cannot connect (${code})`);
  // OpenSSL's verdicts on the chain, or a handshake failure.
  const reason: FetchFailureReason = spiffe ? 'endpoint_identity' : 'tls';
  const what = spiffe ? 'the endpoint\'s certificate does not verify against the endpoint trust domain\'s bundle' : 'the Web PKI check of the endpoint failed';
  return new FederationError(reason, `${url}: ${what} (${code || 'TLS'}: ${String(e.message).split('\n')[0]!.slice(0, 200)})`);
}
