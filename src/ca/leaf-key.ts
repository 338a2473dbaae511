// SVID key generation, the dominant cost of minting. For EC keys, ECDH generation plus fixed-layout encoding of the
// SPKI and PKCS#8 is ~6x faster than generateKeyPairSync with encodings (OpenSSL 3 builds an encoder context per
// call) and faster even than generateKeyPairSync without any: ECDH keys and ECDSA keys on a curve are the same
// (a random scalar and its point), and the PKCS#8 layout below is byte-for-byte what OpenSSL writes.
import { createECDH, generateKeyPairSync } from 'node:crypto';
import { type KeyType } from './key-type.js';

export interface LeafKey {
  readonly spkiDer: Buffer;
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
}

interface EcLayout {
  readonly curve: string;
  readonly scalarBytes: number;
  readonly spkiHeader: Buffer;
  readonly pkcs8Header: Buffer;
  readonly pkcs8BeforePublic: Buffer;
}

// SEQ{SEQ{id-ecPublicKey, curve}, BIT STRING 04||X||Y} and PKCS#8 PrivateKeyInfo wrapping an RFC 5915 ECPrivateKey
// {version 1, privateKey, [1] publicKey}; everything but the scalar and the point is constant per curve.
const EC_LAYOUTS: Partial<Record<KeyType, EcLayout>> = {
  'ec-p256': {
    curve: 'prime256v1',
    scalarBytes: 32,
    spkiHeader: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
    pkcs8Header: Buffer.from('308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420', 'hex'),
    pkcs8BeforePublic: Buffer.from('a144034200', 'hex'),
  },
  'ec-p384': {
    curve: 'secp384r1',
    scalarBytes: 48,
    spkiHeader: Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'),
    pkcs8Header: Buffer.from('3081b6020100301006072a8648ce3d020106052b8104002204819e30819b0201010430', 'hex'),
    pkcs8BeforePublic: Buffer.from('a164036200', 'hex'),
  },
};

function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64');
  let out = `-----BEGIN ${label}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + '\n';
  return out + `-----END ${label}-----\n`;
}

export function generateLeafKey(type: KeyType): LeafKey {
  const layout = EC_LAYOUTS[type];
  if (layout) {
    const ecdh = createECDH(layout.curve);
    const point = ecdh.generateKeys();
    let scalar = ecdh.getPrivateKey();
    // getPrivateKey drops leading zero bytes; RFC 5915 wants the fixed field size.
    if (scalar.length < layout.scalarBytes) scalar = Buffer.concat([Buffer.alloc(layout.scalarBytes - scalar.length), scalar]);
    const pkcs8 = Buffer.concat([layout.pkcs8Header, scalar, layout.pkcs8BeforePublic, point]);
    scalar.fill(0);
    return { spkiDer: Buffer.concat([layout.spkiHeader, point]), privateKeyPem: pem('PRIVATE KEY', pkcs8) };
  }
  const pair = generateKeyPairSync('rsa', {
    modulusLength: type === 'rsa-2048' ? 2048 : 3072,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { spkiDer: pair.publicKey, privateKeyPem: pair.privateKey };
}
