// A node sends its public key, never its private key. A CSR additionally proves possession of the private key.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { Pkcs10CertificateRequest } from '../../spiffe/x509-lib.js';
import { TrustplaneError } from '../../errors.js';

export class NodeKeyError extends TrustplaneError {}

const MAX_PEM = 16 * 1024;

export async function nodePublicKey(req: { publicKeyPem?: string; csrPem?: string }): Promise<KeyObject> {
  let key: KeyObject;
  if (typeof req.csrPem === 'string' && req.csrPem.length <= MAX_PEM) {
    let csr: Pkcs10CertificateRequest;
    try {
      csr = new Pkcs10CertificateRequest(req.csrPem);
    } catch (e) {
      throw new NodeKeyError('NODE_CSR_INVALID', 'csrPem is not a PEM PKCS#10 certificate request', { cause: e });
    }
    if (!(await csr.verify())) throw new NodeKeyError('NODE_CSR_INVALID', 'csrPem signature does not verify');
    key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  } else if (typeof req.publicKeyPem === 'string' && req.publicKeyPem.length <= MAX_PEM) {
    // createPublicKey would happily derive a public key from a private one; a node that sends its private key
    // has made a mistake the server must not paper over (and must not log).
    if (req.publicKeyPem.includes('PRIVATE KEY')) {
      throw new NodeKeyError('NODE_KEY_INVALID', 'publicKeyPem holds a private key; send only the public key (SPKI PEM) and keep the private key on the node');
    }
    try {
      key = createPublicKey({ key: req.publicKeyPem, format: 'pem' });
    } catch (e) {
      throw new NodeKeyError('NODE_KEY_INVALID', 'publicKeyPem is not a PEM SPKI public key', { cause: e });
    }
    if (key.type !== 'public') throw new NodeKeyError('NODE_KEY_INVALID', 'publicKeyPem must be a public key');
  } else {
    throw new NodeKeyError('NODE_KEY_MISSING', 'request needs publicKeyPem (SPKI PEM) or csrPem (PKCS#10 PEM), up to 16 KiB');
  }
  assertAcceptedKey(key);
  return key;
}

function assertAcceptedKey(key: KeyObject): void {
  const type = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails;
  const ok =
    (type === 'ec' && (d?.namedCurve === 'prime256v1' || d?.namedCurve === 'secp384r1')) ||
    (type === 'rsa' && (d?.modulusLength ?? 0) >= 2048) ||
    type === 'ed25519';
  if (!ok) {
    throw new NodeKeyError('NODE_KEY_UNSUPPORTED', `node key type ${type} is not accepted: accepted are EC P-256/P-384, RSA >= 2048 bits, Ed25519`);
  }
}
