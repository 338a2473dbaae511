import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { children, header, namedBits, oid, readTlv, seq, time, unsignedInteger } from '../../src/ca/der.js';

const hex = (b: Buffer): string => b.toString('hex');

describe('DER encoder', () => {
  const cases: [string, () => Buffer, string][] = [
    ['short length', () => header(0x30, 5), '3005'],
    ['length 127 is still short form', () => header(0x30, 127), '307f'],
    ['length 128 takes one length octet', () => header(0x30, 128), '308180'],
    ['length 256 takes two length octets', () => header(0x30, 256), '30820100'],
    ['integer keeps a positive sign with a leading zero', () => unsignedInteger(Buffer.from([0x80])), '02020080'],
    ['integer drops redundant leading zeros', () => unsignedInteger(Buffer.from([0, 0, 0x7f])), '02017f'],
    ['integer zero', () => unsignedInteger(Buffer.from([0, 0])), '020100'],
    ['oid with multi-byte arcs (ecdsa-with-SHA256)', () => oid('1.2.840.10045.4.3.2'), '06082a8648ce3d040302'],
    ['oid subjectAltName', () => oid('2.5.29.17'), '0603551d11'],
    ['key usage digitalSignature only', () => namedBits([0]), '03020780'],
    ['key usage digitalSignature + keyEncipherment', () => namedBits([0, 2]), '030205a0'],
    ['key usage keyCertSign + cRLSign + digitalSignature', () => namedBits([0, 5, 6]), '03020186'],
    ['UTCTime before 2050', () => time(Date.UTC(2026, 0, 2, 3, 4, 5)), '170d3236303130323033303430355a'],
    ['GeneralizedTime from 2050', () => time(Date.UTC(2050, 0, 1)), '180f32303530303130313030303030305a'],
    ['empty sequence', () => seq(), '3000'],
  ];
  for (const [name, make, expected] of cases) test(name, () => assert.equal(hex(make()), expected));
});

describe('DER reader', () => {
  test('walks nested TLVs and long lengths', () => {
    const inner = Buffer.alloc(200, 1);
    const doc = seq(Buffer.concat([header(0x04, inner.length), inner]), seq());
    const top = readTlv(doc, 0);
    const kids = children(doc, top);
    assert.deepEqual(kids.map((k) => [k.tag, k.end - k.contentStart]), [[0x04, 200], [0x30, 0]]);
  });
  const bad: [string, Buffer][] = [
    ['truncated header', Buffer.from([0x30])],
    ['content longer than the buffer', Buffer.from([0x30, 0x05, 0x00])],
    ['indefinite length', Buffer.from([0x30, 0x80, 0x00, 0x00])],
  ];
  for (const [name, buf] of bad) test(`rejects ${name}`, () => assert.throws(() => readTlv(buf, 0), RangeError));
});
