// Certificate PEM (RFC 7468). Text outside the blocks is explanatory text and ignored, as the RFC asks of
// parsers; everything inside a block is held to strict base64 and must be a DER certificate.
import { X509Certificate } from 'node:crypto';
import { TrustplaneError } from '../errors.js';

export type PemErrorCode =
  | 'PEM_EMPTY'
  | 'PEM_NO_BLOCKS'
  | 'PEM_UNTERMINATED_BLOCK'
  | 'PEM_NOT_CERTIFICATE'
  | 'PEM_BAD_BASE64'
  | 'PEM_BAD_CERTIFICATE';

export class PemError extends TrustplaneError<PemErrorCode> {}

const BEGIN = /-----BEGIN ([^\r\n-]*)-----/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Parses every CERTIFICATE block of `pem`. `what` names the document in errors ("bundle for example.org").
 * Messages never include block contents: a misplaced private key must not end up in a log line.
 */
export function parseCertificatesPem(pem: string, what: string): X509Certificate[] {
  if (pem.trim() === '') throw new PemError('PEM_EMPTY', `${what}: empty, expected one or more PEM CERTIFICATE blocks`);
  const certs: X509Certificate[] = [];
  const begin = new RegExp(BEGIN.source, 'g');
  for (let m = begin.exec(pem); m; m = begin.exec(pem)) {
    const n = certs.length + 1;
    const label = m[1] ?? '';
    const end = `-----END ${label}-----`;
    const endAt = pem.indexOf(end, begin.lastIndex);
    if (endAt < 0) {
      throw new PemError('PEM_UNTERMINATED_BLOCK', `${what}: PEM block ${n} ("${label}") has no "${end}" line`);
    }
    if (label !== 'CERTIFICATE') {
      throw new PemError('PEM_NOT_CERTIFICATE', `${what}: PEM block ${n} is a "${label}", only "CERTIFICATE" blocks are accepted`);
    }
    const body = pem.slice(begin.lastIndex, endAt).replace(/\s+/g, '');
    if (body === '' || body.length % 4 !== 0 || !BASE64.test(body)) {
      throw new PemError('PEM_BAD_BASE64', `${what}: PEM block ${n} is not valid base64`);
    }
    try {
      certs.push(new X509Certificate(Buffer.from(body, 'base64')));
    } catch (cause) {
      throw new PemError('PEM_BAD_CERTIFICATE', `${what}: PEM block ${n} is not a DER X.509 certificate`, { cause });
    }
    begin.lastIndex = endAt + end.length;
  }
  if (certs.length === 0) {
    throw new PemError('PEM_NO_BLOCKS', `${what}: no PEM block found, expected "-----BEGIN CERTIFICATE-----"`);
  }
  return certs;
}

export function certificateToPem(cert: X509Certificate): string {
  return derToPem(cert.raw);
}

/** A certificate's DER as one PEM block (64-character lines), without parsing it. */
export function derToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** Concatenated PEM blocks in the given order, each ending in a newline. */
export function certificatesToPem(certs: readonly X509Certificate[]): string {
  return certs.map(certificateToPem).join('');
}
