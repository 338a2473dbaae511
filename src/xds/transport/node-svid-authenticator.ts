// TCP callers are nodes proving themselves with their node SVID. OpenSSL has already checked the chain against
// the bundle at handshake time (otherwise grpc-js reports no peer certificate); this adds what OpenSSL cannot:
// SPIFFE rules, the own trust domain, the node path, and validity at the Clock's time rather than the host's.
import { createHash, X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { BundleSource } from '../../spiffe/bundle.js';
import { verifyX509Svid } from '../../spiffe/x509svid.js';
import { nodeNameFromPath } from '../node-attest/node-id.js';
import type { CallAuthenticator, NodePrincipal, ServerSurfaceCall } from '../principal.js';

interface Verified {
  readonly name: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

// Verifying an SVID parses it with a general ASN.1 library (~7 ms); a proxy opens several streams with the same
// certificate, and thousands reconnect at once after a restart, so a verdict is kept per (certificate, bundle).
const CACHE_LIMIT = 16_384;

export class NodeSvidAuthenticator implements CallAuthenticator {
  readonly #verified = new Map<string, Verified>();

  constructor(
    private readonly trustDomain: string,
    private readonly bundles: BundleSource & { bundleVersion?(trustDomain: string): string | undefined },
    private readonly clock: Clock,
    private readonly log?: Logger,
    /** Intermediates between node SVIDs and the bundle (upstream CA mode); grpc-js hands over the leaf alone. */
    private readonly intermediates: () => readonly X509Certificate[] = () => [],
  ) {}

  authenticate(call: ServerSurfaceCall): NodePrincipal | undefined {
    const name = this.nodeName(call);
    return name === undefined ? undefined : { kind: 'node', name };
  }

  /** The node name proven by the call's client certificate, or undefined (with the reason logged). */
  nodeName(call: ServerSurfaceCall): string | undefined {
    const raw = call.getAuthContext().sslPeerCertificate?.raw;
    if (!raw) return this.#deny(call, 'NO_CLIENT_CERTIFICATE', 'no client certificate that chains to the own bundle');
    const now = this.clock.now();
    const key = `${createHash('sha256').update(raw).digest('base64')}:${this.bundles.bundleVersion?.(this.trustDomain) ?? ''}`;
    const hit = this.#verified.get(key);
    if (hit && now >= hit.notBefore && now < hit.notAfter) return hit.name;
    this.#verified.delete(key);
    const name = this.#verify(call, raw);
    if (name !== undefined) {
      const cert = new X509Certificate(raw);
      if (this.#verified.size >= CACHE_LIMIT) this.#verified.delete(this.#verified.keys().next().value!);
      this.#verified.set(key, { name, notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) });
    }
    return name;
  }

  #verify(call: ServerSurfaceCall, raw: Buffer): string | undefined {
    let spiffeId: string;
    let path: string;
    let trustDomain: string;
    try {
      const verified = verifyX509Svid([new X509Certificate(raw), ...this.intermediates()], this.bundles, new Date(this.clock.now()));
      spiffeId = verified.spiffeId.toString();
      path = verified.spiffeId.path;
      trustDomain = verified.spiffeId.trustDomain.name;
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'X509_SVID_INVALID';
      return this.#deny(call, code, (e as Error).message);
    }
    if (trustDomain !== this.trustDomain) {
      return this.#deny(call, 'FOREIGN_TRUST_DOMAIN', `${spiffeId} is not in trust domain ${this.trustDomain}`);
    }
    const name = nodeNameFromPath(path);
    if (name === undefined) {
      return this.#deny(call, 'NOT_A_NODE_ID', `${spiffeId} is not a node ID spiffe://${this.trustDomain}/trustplane/node/<name>`);
    }
    return name;
  }

  #deny(call: ServerSurfaceCall, code: string, reason: string): undefined {
    this.log?.warn({ code, peer: call.getPeer(), path: call.getPath() }, `xDS caller not authenticated: ${reason}`);
    return undefined;
  }
}
