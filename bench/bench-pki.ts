// Certificates the push benchmarks rotate between: self-signed CAs of the bench trust domain (the bundle content a
// CA rotation replaces). Built with @peculiar/x509: not a hot path.
import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '../src/spiffe/x509-lib.js';

export const TD = 'bench.example';

export async function caCert(name: string): Promise<X509Certificate> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `O=trustplane bench, CN=${name}`,
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${TD}` }]),
    ],
  });
  return new X509Certificate(Buffer.from(cert.rawData));
}
