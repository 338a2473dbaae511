// An upstream CA given as certificate + key files: trustplane's CA then is an intermediate it signs, and the
// trust bundle holds the upstream's root instead of trustplane's own CA certificates.
import { createPrivateKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { parseCertificatesPem } from '../spiffe/pem.js';
import { certificateFields } from './cert-fields.js';
import { type Issuer } from './ca-cert.js';
import { CaError } from './errors.js';
import { signatureAlgorithmFor } from './key-type.js';

export interface UpstreamFiles {
  /** PEM: the upstream signing certificate first, then any certificates up to and including its root. */
  readonly certFile: string;
  /** PEM private key of the first certificate in certFile. */
  readonly keyFile: string;
}

export interface Upstream {
  readonly issuer: Issuer;
  readonly certificate: X509Certificate;
  /** Certificates between trustplane's intermediate and the trust anchor, to append to every chain. */
  readonly chainTail: readonly X509Certificate[];
  /** What the bundle publishes: the last certificate of certFile. */
  readonly trustAnchor: X509Certificate;
}

function invalid(message: string): CaError {
  return new CaError('CA_UPSTREAM_INVALID', message);
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw invalid(`cannot read the upstream CA ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

export function loadUpstream(files: UpstreamFiles, now: number): Upstream {
  let certs: X509Certificate[];
  try {
    certs = parseCertificatesPem(read(files.certFile, 'certificate'), `upstream CA certificate ${files.certFile}`);
  } catch (err) {
    if (err instanceof CaError) throw err;
    // Our own words: the parser's message would name whatever block it found instead (a key, given the wrong file).
    const code = (err as { code?: string }).code ?? 'unreadable';
    throw invalid(`${files.certFile}: expected PEM CERTIFICATE blocks only, the upstream CA's certificate first (${code})`);
  }
  const cert = certs[0]!;
  if (!cert.ca) throw invalid(`${files.certFile}: the first certificate is not a CA (basicConstraints CA:TRUE is required)`);
  if (Date.parse(cert.validTo) <= now || Date.parse(cert.validFrom) > now) {
    throw invalid(`${files.certFile}: the upstream CA certificate is valid only from ${cert.validFrom} to ${cert.validTo}`);
  }
  assertKeyFilePrivate(files.keyFile);
  let privateKey: KeyObject;
  try {
    // No `cause`: a parser's message could quote the bytes it choked on.
    privateKey = createPrivateKey(read(files.keyFile, 'key'));
  } catch (err) {
    if (err instanceof CaError) throw err;
    throw invalid(`${files.keyFile} is not a PEM private key (PKCS#8, PKCS#1 or SEC1, unencrypted)`);
  }
  if (!cert.checkPrivateKey(privateKey)) throw invalid(`${files.keyFile} is not the key of the first certificate in ${files.certFile}`);
  const algorithm = signatureAlgorithmFor(privateKey);
  if (!algorithm) throw invalid(`${files.keyFile}: the upstream key must be RSA or ECDSA on P-256, P-384 or P-521`);
  const fields = certificateFields(cert.raw);
  return {
    issuer: { subjectDer: fields.subjectDer, keyId: fields.keyId, privateKey, algorithm },
    certificate: cert,
    chainTail: certs.slice(0, -1),
    trustAnchor: certs[certs.length - 1]!,
  };
}

/** The upstream key signs trustplane's intermediate: one others can read is refused, like the CA's own keys. */
function assertKeyFilePrivate(file: string): void {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return; // read() says what is wrong with the file
  }
  if ((mode & 0o077) !== 0) {
    throw new CaError('CA_KEY_EXPOSED', `the upstream CA key ${file} is mode ${mode.toString(8).padStart(4, '0')}: readable by other users; trustplane does not sign with a key others can read. Fix: chmod 600 ${file}`);
  }
}
