// Key types the CA supports, and the signature algorithm each signing key implies.
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { nullValue, oid, seq } from './der.js';
import { CaError } from './errors.js';

export const KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export function parseKeyType(value: string, where = 'key type'): KeyType {
  const v = value.toLowerCase();
  if ((KEY_TYPES as readonly string[]).includes(v)) return v as KeyType;
  throw new CaError('CA_KEY_TYPE_INVALID', `${where}: "${value}" is not a supported key type; accepted: ${KEY_TYPES.join(', ')}`);
}

export interface GeneratedKey {
  readonly privateKey: KeyObject;
  /** PKCS#8 PEM, for the key file. */
  readonly privateKeyPem: string;
  readonly spkiDer: Buffer;
}

/** Generates a CA key. Encodings are requested from the generator itself: KeyObject.export is slow and has deadlocked. */
export function generateKey(type: KeyType): GeneratedKey {
  const publicKeyEncoding = { type: 'spki', format: 'der' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  const pair =
    type === 'ec-p256' || type === 'ec-p384'
      ? generateKeyPairSync('ec', { namedCurve: type === 'ec-p256' ? 'P-256' : 'P-384', publicKeyEncoding, privateKeyEncoding })
      : generateKeyPairSync('rsa', { modulusLength: type === 'rsa-2048' ? 2048 : 3072, publicKeyEncoding, privateKeyEncoding });
  return { privateKey: createPrivateKey(pair.privateKey), privateKeyPem: pair.privateKey, spkiDer: pair.publicKey };
}

export interface SignatureAlgorithm {
  /** Digest name for node:crypto sign(). */
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  /** DER AlgorithmIdentifier for the certificate's signature and TBS signature fields. */
  readonly algorithmIdentifier: Buffer;
}

const ECDSA_SHA = { sha256: '1.2.840.10045.4.3.2', sha384: '1.2.840.10045.4.3.3', sha512: '1.2.840.10045.4.3.4' } as const;
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

/**
 * The signature algorithm for a signing key: ECDSA with the hash matching the curve size, RSA PKCS#1 v1.5 with
 * SHA-256. Returns undefined for keys the CA cannot sign with (Ed25519, DSA, RSA-PSS-only keys, other curves).
 */
export function signatureAlgorithmFor(key: KeyObject): SignatureAlgorithm | undefined {
  if (key.asymmetricKeyType === 'rsa') {
    // RFC 4055: the parameters of sha256WithRSAEncryption are an explicit NULL.
    return { hash: 'sha256', algorithmIdentifier: seq(oid(SHA256_WITH_RSA), nullValue()) };
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const hash = curve === 'prime256v1' ? 'sha256' : curve === 'secp384r1' ? 'sha384' : curve === 'secp521r1' ? 'sha512' : undefined;
    // RFC 5758: ECDSA AlgorithmIdentifiers have absent parameters.
    return hash && { hash, algorithmIdentifier: seq(oid(ECDSA_SHA[hash])) };
  }
  return undefined;
}
