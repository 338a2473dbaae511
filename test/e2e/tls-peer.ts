// A workload endpoint over node:tls, the way a sidecar uses its SVID: it serves mTLS and connects to peers, with
// OpenSSL verifying chains (rejectUnauthorized, requestCert) and, on both sides, a SPIFFE check of the peer: the
// leaf verified against the bundle of the peer's OWN trust domain and its ID equal to exactly the expected one.
// Its material (chain, key, bundles) can be replaced at any time; the listening server takes it for new handshakes
// through setSecureContext, as Envoy does with a rotated SDS secret.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { BundleSet, type X509Bundle } from '../../src/spiffe/bundle.js';
import { verifyX509Svid } from '../../src/spiffe/x509svid.js';

export interface TlsMaterial {
  /** Leaf first. */
  readonly certChainPem: string;
  readonly privateKeyPem: string;
  /** One bundle per trust domain this endpoint trusts. */
  readonly bundles: readonly X509Bundle[];
}

/** What one side saw of the other in a completed handshake. */
export interface PeerView {
  readonly spiffeId: string;
  /** Upper-case hex, as the identity store writes it. */
  readonly serial: string;
  readonly leaf: X509Certificate;
}

export interface Handshake {
  /** The server's certificate as the client saw it. */
  readonly server: PeerView;
  /** The client's certificate as the server saw it (reported back by the server after its checks). */
  readonly client: { readonly spiffeId: string; readonly serial: string };
}

function contextOptions(m: TlsMaterial): tls.SecureContextOptions {
  return {
    cert: m.certChainPem,
    key: m.privateKeyPem,
    ca: m.bundles.flatMap((b) => b.x509Authorities.map((c) => c.toString())),
  };
}

function uriSans(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

/** Undefined when `leaf` is an X.509-SVID for exactly `expected` under `bundles`; otherwise why not. */
export function checkPeer(leaf: X509Certificate, expected: string, bundles: readonly X509Bundle[]): Error | undefined {
  const uris = uriSans(leaf);
  if (uris.length !== 1 || uris[0] !== expected) {
    return new Error(`peer is not ${expected} (URI SANs: ${uris.join(' ') || 'none'})`);
  }
  try {
    const { spiffeId } = verifyX509Svid([leaf], new BundleSet(bundles), new Date());
    if (spiffeId.toString() !== expected) return new Error(`peer SVID is for ${spiffeId}, not ${expected}`);
  } catch (e) {
    return new Error(`peer SVID for ${expected} does not verify against its own trust domain's bundle: ${(e as Error).message}`);
  }
  return undefined;
}

export class TlsEndpoint {
  #material: TlsMaterial;
  readonly #server: tls.Server;
  /** Why the server side refused a handshake, in order: OpenSSL's verdicts and the SPIFFE check's. */
  readonly refusals: string[] = [];
  readonly #refusalWaiters: ((why: string) => void)[] = [];

  /**
   * @param spiffeId what this endpoint is (for messages)
   * @param acceptClient the one SPIFFE ID its server admits
   */
  constructor(
    readonly spiffeId: string,
    material: TlsMaterial,
    readonly acceptClient: string,
  ) {
    this.#material = material;
    this.#server = tls.createServer({ ...contextOptions(material), requestCert: true, rejectUnauthorized: true }, (socket) => {
      const leaf = socket.getPeerX509Certificate();
      const err = leaf ? checkPeer(leaf, this.acceptClient, this.#material.bundles) : new Error('no client certificate');
      if (err) {
        this.#refuse(err.message);
        socket.destroy();
        return;
      }
      socket.on('error', () => {});
      socket.end(JSON.stringify({ spiffeId: uriSans(leaf!)[0], serial: leaf!.serialNumber.toUpperCase() }));
    });
    // Node checks the client's chain after OpenSSL's handshake and only destroys the socket, so the verdict is on
    // the socket (authorizationError), not in the error, which just says the socket hung up.
    this.#server.on('tlsClientError', (e, socket) => this.#refuse(`TLS: ${String(socket.authorizationError ?? e.message)}`));
  }

  get material(): TlsMaterial {
    return this.#material;
  }

  async listen(): Promise<number> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return this.port;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** New handshakes (served and initiated) use this material from now on. */
  update(material: TlsMaterial): void {
    this.#material = material;
    this.#server.setSecureContext(contextOptions(material));
  }

  /** Resolves with the next refusal by this endpoint's server. */
  nextRefusal(): Promise<string> {
    return new Promise((resolve) => this.#refusalWaiters.push(resolve));
  }

  /** One mTLS handshake to `peer`'s server, accepting exactly `expectServer`; rejects if either side refuses. */
  connect(peer: TlsEndpoint, expectServer: string = peer.spiffeId): Promise<Handshake> {
    const material = this.#material;
    return new Promise((resolve, reject) => {
      let server: PeerView | undefined;
      let body = '';
      const socket = tls.connect({
        host: '127.0.0.1',
        port: peer.port,
        ...contextOptions(material),
        rejectUnauthorized: true,
        checkServerIdentity: (_host, cert) => checkPeer(new X509Certificate(cert.raw), expectServer, material.bundles),
      });
      socket.setEncoding('utf8');
      socket.on('secureConnect', () => {
        const leaf = socket.getPeerX509Certificate()!;
        server = { spiffeId: uriSans(leaf)[0]!, serial: leaf.serialNumber.toUpperCase(), leaf };
      });
      socket.on('data', (d: string) => (body += d));
      socket.on('error', (e) => reject(e));
      socket.on('close', () => {
        if (!server || body === '') return reject(new Error(`${peer.spiffeId} closed the connection without accepting ${this.spiffeId}`));
        resolve({ server, client: JSON.parse(body) as Handshake['client'] });
      });
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #refuse(why: string): void {
    this.refusals.push(why);
    for (const w of this.#refusalWaiters.splice(0)) w(why);
  }
}

/** Material of an SVID record (leaf first) with the given trust bundles. */
export function materialOf(svid: { chain: readonly X509Certificate[]; privateKeyPem: string }, bundles: readonly X509Bundle[]): TlsMaterial {
  return { certChainPem: svid.chain.map((c) => c.toString()).join(''), privateKeyPem: svid.privateKeyPem, bundles };
}

/** Whether `authority` signed `cert`. */
export function signedBy(cert: X509Certificate, authority: X509Certificate): boolean {
  return cert.checkIssued(authority) && cert.verify(authority.publicKey);
}
