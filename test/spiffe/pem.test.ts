import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { certificatesToPem, parseCertificatesPem, PemError } from '../../src/spiffe/pem.js';
import { throwsCode } from './assert-error.js';
import { interA, rootA } from './fixtures.js';

const pemA = certificatesToPem([rootA.cert]);
const pemBoth = certificatesToPem([rootA.cert, interA.cert]);
const FAKE_KEY_BODY = 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSECRETKEYMATERIAL';
const keyBlock = `-----BEGIN PRIVATE KEY-----\n${FAKE_KEY_BODY}\n-----END PRIVATE KEY-----\n`;

describe('certificatesToPem', () => {
  test('writes one CERTIFICATE block per certificate with 64-column lines', () => {
    assert.match(pemA, /^-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/);
    assert.equal(pemBoth.match(/BEGIN CERTIFICATE/g)?.length, 2);
  });
  test('writes nothing for no certificates', () => assert.equal(certificatesToPem([]), ''));
});

describe('parseCertificatesPem accepts', () => {
  const cases: Array<[string, string, Buffer[]]> = [
    ['one certificate', pemA, [rootA.cert.raw]],
    ['two certificates in order', pemBoth, [rootA.cert.raw, interA.cert.raw]],
    ['CRLF line endings', pemBoth.replace(/\n/g, '\r\n'), [rootA.cert.raw, interA.cert.raw]],
    ['explanatory text around blocks (RFC 7468)', `subject=CN=root A\n${pemA}\nissuer=x\n${certificatesToPem([interA.cert])}`, [rootA.cert.raw, interA.cert.raw]],
  ];
  for (const [name, pem, want] of cases) {
    test(name, () => {
      const got = parseCertificatesPem(pem, 'test.pem');
      assert.deepEqual(got.map((c) => c.raw.toString('hex')), want.map((b) => b.toString('hex')));
    });
  }
});

describe('parseCertificatesPem rejects', () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const cases: Array<[string, string, string, ...string[]]> = [
    ['an empty document', '', 'PEM_EMPTY', 'ca.pem: empty'],
    ['whitespace only', ' \n\t\n', 'PEM_EMPTY'],
    ['text without any block', 'hello, this is not PEM', 'PEM_NO_BLOCKS', 'ca.pem', 'no PEM block'],
    ['raw base64 without armour', rootA.cert.raw.toString('base64'), 'PEM_NO_BLOCKS'],
    ['a private key block, without echoing it', keyBlock, 'PEM_NOT_CERTIFICATE', 'block 1 is a "PRIVATE KEY"'],
    ['a certificate followed by a private key', pemA + keyBlock, 'PEM_NOT_CERTIFICATE', 'block 2'],
    ['a block with no END line', '-----BEGIN CERTIFICATE-----\nMIIB\n', 'PEM_UNTERMINATED_BLOCK', 'block 1'],
    ['an END line with another label', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END X509 CRL-----\n', 'PEM_UNTERMINATED_BLOCK'],
    ['a body that is not base64', '-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n', 'PEM_BAD_BASE64', 'block 1'],
    ['an empty body', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', 'PEM_BAD_BASE64'],
    ['base64 that is not a certificate', `-----BEGIN CERTIFICATE-----\n${b64('definitely not DER')}\n-----END CERTIFICATE-----\n`, 'PEM_BAD_CERTIFICATE'],
    ['a truncated certificate as the second block', pemA + pemA.replace(/(-----BEGIN CERTIFICATE-----\n[^\n]+\n)[^\n]+\n/, '$1'), 'PEM_BAD_CERTIFICATE', 'block 2'],
  ];
  for (const [name, pem, code, ...fragments] of cases) {
    test(`${name} (${code})`, () => {
      const err = throwsCode(() => parseCertificatesPem(pem, 'ca.pem'), PemError, code, ...fragments);
      assert.ok(!err.message.includes('SECRETKEYMATERIAL'), 'the message must not echo block contents');
    });
  }
});
