// The node side of attestation: trust the server by its SPIFFE ID under the given bundle (a server SVID has no
// DNS name), present a join token or the current node SVID, send only a public key.
import * as grpc from '@grpc/grpc-js';
import { isIP } from 'node:net';
import type { PeerCertificate } from 'node:tls';
import { nodeAttestationService, type AttestRequest, type NodeSvidResponse, type RenewRequest } from './messages.js';

const Client = grpc.makeGenericClientConstructor(nodeAttestationService, 'NodeAttestation');

/** TLS channel credentials that accept exactly the server whose certificate carries serverSpiffeId. */
export function spiffeChannelCredentials(opts: {
  bundlePem: string;
  serverSpiffeId: string;
  certChainPem?: string;
  privateKeyPem?: string;
}): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(
    Buffer.from(opts.bundlePem),
    opts.privateKeyPem ? Buffer.from(opts.privateKeyPem) : null,
    opts.certChainPem ? Buffer.from(opts.certChainPem) : null,
    {
      checkServerIdentity: (_host: string, cert: PeerCertificate) => {
        const uris = (cert.subjectaltname ?? '').split(', ').filter((s) => s.startsWith('URI:'));
        return uris.length === 1 && uris[0] === `URI:${opts.serverSpiffeId}`
          ? undefined
          : new Error(`server certificate is not ${opts.serverSpiffeId} (has ${uris.join(' ') || 'no URI SAN'})`);
      },
    },
  );
}

export class NodeAttestationClient {
  readonly #client: grpc.Client;

  /**
   * `address` is HOST:PORT, usually an IP address. A TLS server name must be a host name (Node warns, DEP0123,
   * when it is an IP), and the server is checked by its SPIFFE ID, not by name: an IP host gets the SNI
   * "trustplane" unless `options` names one ('grpc.ssl_target_name_override').
   */
  constructor(address: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions = {}) {
    const host = address.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    const sni = isIP(host) && options['grpc.ssl_target_name_override'] === undefined ? { 'grpc.ssl_target_name_override': 'trustplane' } : {};
    this.#client = new Client(address, credentials, { ...options, ...sni });
  }

  attest(req: AttestRequest): Promise<NodeSvidResponse> {
    return this.#call('attest', req);
  }

  renew(req: RenewRequest): Promise<NodeSvidResponse> {
    return this.#call('renew', req);
  }

  close(): void {
    this.#client.close();
  }

  #call(method: 'attest' | 'renew', req: AttestRequest | RenewRequest): Promise<NodeSvidResponse> {
    return new Promise((resolve, reject) => {
      const fn = (this.#client as unknown as Record<string, Function>)[method]!;
      fn.call(this.#client, req, (err: grpc.ServiceError | null, res: NodeSvidResponse) => (err ? reject(err) : resolve(res)));
    });
  }
}
