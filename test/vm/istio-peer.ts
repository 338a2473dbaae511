// Two node:tls endpoints for the VM-into-Istio handshakes: a stand-in for an Istio sidecar's inbound mTLS, and a
// client configured from nothing but a generated Cluster (its SNI, ALPN, exact SAN matchers and SDS secret names,
// the names resolved to material as trustplane's SDS would serve them).
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import type { Cluster } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { SubjectAltNameMatcher_SanType } from '#gen/envoy/extensions/transport_sockets/tls/v3/common_pb';
import { UpstreamTlsContextSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/tls_pb';
import { BundleSet, type X509Bundle } from '../../src/spiffe/bundle.js';
import { verifyX509Svid } from '../../src/spiffe/x509svid.js';

export interface Svid {
  readonly chain: readonly X509Certificate[];
  readonly privateKeyPem: string;
}

/** What trustplane's SDS would answer for a secret name: an SVID (tls_certificate) or a bundle (validation context). */
export interface SecretSource {
  svid(name: string): Svid;
  bundle(name: string): X509Bundle;
}

export function uriSans(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
}

const pem = (certs: readonly X509Certificate[]) => certs.map((c) => c.toString()).join('');

/** The TLS expectations of a generated cluster, read back from its UpstreamTlsContext. */
export interface ClusterTls {
  readonly sni: string;
  readonly alpn: string[];
  /** Exact URI SANs of default_validation_context (any-of). */
  readonly exactSans: string[];
  readonly svidSecret: string;
  readonly validationSecret: string;
}

export function clusterTls(cluster: Cluster): ClusterTls {
  const socket = cluster.transportSocket;
  if (socket?.configType.case !== 'typedConfig') throw new Error(`${cluster.name} has no TLS transport socket`);
  const ctx = anyUnpack(socket.configType.value, UpstreamTlsContextSchema);
  if (!ctx?.commonTlsContext) throw new Error(`${cluster.name}: transport socket is not an UpstreamTlsContext`);
  const common = ctx.commonTlsContext;
  const v = common.validationContextType;
  if (v.case !== 'combinedValidationContext') throw new Error(`${cluster.name}: expected a CombinedValidationContext`);
  const exactSans = (v.value.defaultValidationContext?.matchTypedSubjectAltNames ?? []).map((m) => {
    if (m.sanType !== SubjectAltNameMatcher_SanType.URI || m.matcher?.matchPattern.case !== 'exact') throw new Error(`${cluster.name}: a SAN matcher that is not URI exact`);
    return m.matcher.matchPattern.value;
  });
  return {
    sni: ctx.sni,
    alpn: [...common.alpnProtocols],
    exactSans,
    svidSecret: common.tlsCertificateSdsSecretConfigs[0]!.name,
    validationSecret: v.value.validationContextSdsSecretConfig!.name,
  };
}

/** What the sidecar stand-in saw of an accepted client. */
export interface Accepted {
  readonly clientSpiffeId: string;
  readonly sni: string;
  readonly alpn: string;
}

/** Peer check as Istio's SPIFFE validator does it: the chain against the bundle of the peer's own trust domain. */
function verifiedId(chain: readonly X509Certificate[], bundles: readonly X509Bundle[]): string {
  return verifyX509Svid(chain, new BundleSet(bundles), new Date()).spiffeId.toString();
}

/** Leaf and intermediates of the chain OpenSSL built, without the self-signed root (the bundle holds that). */
function chainOf(detailed: tls.PeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let c = detailed as tls.DetailedPeerCertificate | undefined;
  const seen = new Set<string>();
  while (c?.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    const cert = new X509Certificate(c.raw);
    if (!(cert.issuer === cert.subject && cert.ca)) chain.push(cert);
    c = c.issuerCertificate;
  }
  return chain;
}

function peerChain(socket: tls.TLSSocket): X509Certificate[] {
  return chainOf(socket.getPeerCertificate(true));
}

/**
 * An Istio sidecar's inbound mTLS: it presents its workload SVID, requires a client certificate that verifies
 * against the trust bundles it has (its own root, plus what meshConfig.caCertificates federates), takes only
 * Istio's mTLS ALPN, and expects the SNI of its outbound cluster name.
 */
export class IstioSidecar {
  readonly #server: tls.Server;
  readonly refusals: string[] = [];
  readonly accepted: Accepted[] = [];

  constructor(svid: Svid, trusted: readonly X509Bundle[], expectSni: string, alpn: readonly string[] = ['istio-peer-exchange', 'istio', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2']) {
    this.#server = tls.createServer(
      {
        cert: pem(svid.chain),
        key: svid.privateKeyPem,
        ca: pem(trusted.flatMap((b) => b.x509Authorities)),
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: [...alpn],
      },
      (socket) => {
        socket.on('error', () => {});
        const refuse = (why: string) => {
          this.refusals.push(why);
          socket.destroy();
        };
        if (socket.servername !== expectSni) return refuse(`SNI ${String(socket.servername)} is not ${expectSni}`);
        let id: string;
        try {
          id = verifiedId(peerChain(socket), trusted);
        } catch (e) {
          return refuse(`client SVID: ${(e as Error).message}`);
        }
        const seen: Accepted = { clientSpiffeId: id, sni: socket.servername, alpn: String(socket.alpnProtocol) };
        this.accepted.push(seen);
        socket.end(JSON.stringify(seen));
      },
    );
    this.#server.on('tlsClientError', (e, socket) => this.refusals.push(`TLS: ${String((socket as tls.TLSSocket).authorizationError ?? e.message)}`));
  }

  async listen(): Promise<number> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return (this.#server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

export interface Dialled {
  /** The server's SPIFFE ID, checked against the cluster's exact SAN matchers and its trust domain's bundle. */
  readonly serverSpiffeId: string;
  readonly alpn: string;
  /** What the server reported about the client after its own checks. */
  readonly server: Accepted;
}

/**
 * The VM's Envoy dialling as the cluster says: SNI, ALPN, its SVID and trust anchors by the cluster's SDS names,
 * and the server certificate's URI SAN equal to one of the exact matchers. `override` replaces a part for
 * negative cases that prove the server checks it.
 */
export function dialFromCluster(cluster: Cluster, secrets: SecretSource, port: number, override: Partial<Pick<ClusterTls, 'sni' | 'alpn'>> = {}): Promise<Dialled> {
  const c = { ...clusterTls(cluster), ...override };
  const svid = secrets.svid(c.svidSecret);
  const anchors = secrets.bundle(c.validationSecret);
  return new Promise((resolve, reject) => {
    let serverSpiffeId = '';
    let body = '';
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: c.sni,
      ALPNProtocols: c.alpn,
      cert: pem(svid.chain),
      key: svid.privateKeyPem,
      ca: pem(anchors.x509Authorities),
      rejectUnauthorized: true,
      checkServerIdentity: (_host, cert) => {
        const chain = chainOf(cert);
        const sans = uriSans(chain[0]!);
        if (sans.length !== 1 || !c.exactSans.includes(sans[0]!)) {
          return new Error(`server URI SAN ${sans.join(' ') || 'none'} matches none of ${c.exactSans.join(', ')}`);
        }
        try {
          serverSpiffeId = verifiedId(chain, [anchors]);
        } catch (e) {
          return e as Error;
        }
        return undefined;
      },
    });
    socket.setEncoding('utf8');
    let alpn = '';
    socket.on('secureConnect', () => (alpn = String(socket.alpnProtocol)));
    socket.on('data', (d: string) => (body += d));
    socket.on('error', reject);
    socket.on('close', () => {
      if (body === '') return reject(new Error('the server closed the connection without accepting the client'));
      resolve({ serverSpiffeId, alpn, server: JSON.parse(body) as Accepted });
    });
  });
}
