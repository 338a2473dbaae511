// Certificates made with the openssl CLI, independent of trustplane's own minting: a CA per trust domain and
// X.509-SVIDs it issues (one URI SAN, CA:FALSE, digitalSignature, serverAuth + clientAuth), as a SPIRE server would.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const openssl = (args: string[]): void => void execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });

export interface OpensslCa {
  readonly dir: string;
  readonly name: string;
  readonly cert: X509Certificate;
}

export interface OpensslSvid {
  readonly spiffeId: string;
  readonly cert: X509Certificate;
  /** PKCS#8 DER. */
  readonly keyDer: Buffer;
}

export function makeCa(dir: string, name: string): OpensslCa {
  const cert = join(dir, `${name}.pem`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', cert, '-subj', `/O=${name}`, '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return { dir, name, cert: new X509Certificate(readFileSync(cert)) };
}

let n = 0;
export function issueSvid(ca: OpensslCa, spiffeId: string): OpensslSvid {
  const base = join(ca.dir, `leaf-${++n}`);
  writeFileSync(`${base}.ext`, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:${spiffeId}\n`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', '/O=workload']);
  openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', join(ca.dir, `${ca.name}.pem`), '-CAkey', join(ca.dir, `${ca.name}.key`), '-CAcreateserial', '-days', '1', '-extfile', `${base}.ext`, '-out', `${base}.pem`]);
  const keyDer = createPrivateKey(readFileSync(`${base}.key`)).export({ type: 'pkcs8', format: 'der' });
  return { spiffeId, cert: new X509Certificate(readFileSync(`${base}.pem`)), keyDer };
}
