// gRPC server credentials backed by the server's own X.509-SVID. Unlike ServerCredentials.createSsl they ask for
// a client certificate without requiring one, because a node that is joining has no SVID yet; SPIFFE
// verification of whatever was presented happens per call (see node-svid-authenticator.ts). A renewed SVID or a
// rotated bundle replaces the TLS context of the running listener: existing connections keep theirs, new
// handshakes use the new one, and the listening socket is never closed.
import * as grpc from '@grpc/grpc-js';
import type { SecureContextOptions } from 'node:tls';
import type { X509SvidRecord } from '../../store/identity-store.js';
import type { X509Bundle } from '../../spiffe/bundle.js';

// grpc-js's own TLS 1.2 cipher list (tls-helpers), so this listener negotiates what grpc-js clients expect.
const CIPHERS = process.env.GRPC_SSL_CIPHER_SUITES;

export function svidContextOptions(svid: X509SvidRecord, bundle: X509Bundle): SecureContextOptions {
  return {
    cert: svid.chain.map((c) => c.toString()).join(''),
    key: svid.privateKeyPem,
    ca: bundle.x509Authorities.map((c) => c.toString()),
  };
}

export class SvidServerCredentials extends grpc.ServerCredentials {
  constructor(svid: X509SvidRecord, bundle: X509Bundle) {
    super(
      { requestCert: true, rejectUnauthorized: false, ...(CIPHERS ? { ciphers: CIPHERS } : {}) },
      svidContextOptions(svid, bundle),
    );
  }

  /** Takes effect for new handshakes on every listener bound with these credentials. */
  update(svid: X509SvidRecord, bundle: X509Bundle): void {
    this.updateSecureContextOptions(svidContextOptions(svid, bundle));
  }

  override _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}
