// Every way a JWT-SVID can be wrong, refused with its exact reason (JWT-SVID §2-§4, Appendix A).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { JwtSvidError, type JwtSvidErrorCode } from '../../src/jwt/errors.js';
import { validateJwtSvid, type JwtSvidValidationOptions } from '../../src/jwt/validate.js';
import { SpiffeId } from '../../src/spiffe/id.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { b64url, bundlesOf, ManualClock, openDomain, partsOf, signRaw, type Domain } from './fixtures.js';

const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
const web = SpiffeId.parse('spiffe://example.org/web');
let A: Domain;
let B: Domain;
let good: string;
let nowS: number;

before(async () => {
  A = openDomain('example.org', clock);
  B = openDomain('other.org', clock);
  good = (await A.ca.jwt.mint(web, ['orders'])).token;
  nowS = Math.floor(clock.now() / 1000);
});

const base = (): JwtSvidValidationOptions => ({ audience: 'orders', bundles: bundlesOf(A, B), clock });
const claims = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ sub: web.toString(), aud: 'orders', exp: nowS + 300, iat: nowS, ...over });
const headerA = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ alg: 'ES256', kid: A.activeKey().kid, typ: 'JWT', ...over });
const signA = (c: Record<string, unknown>, h: Record<string, unknown> = headerA()): Promise<string> => signRaw(h, c, A.activeKey().key);

interface Case {
  readonly name: string;
  readonly token: () => Promise<string>;
  readonly opts?: (o: JwtSvidValidationOptions) => JwtSvidValidationOptions;
  readonly code: JwtSvidErrorCode;
  /** A fragment the message must contain, so the reason is specific. */
  readonly says: RegExp;
}

const cases: Case[] = [
  { name: 'expired (validated 5 min + leeway after minting)', token: async () => good, opts: (o) => ({ ...o, clock: new ManualClock(clock.now() + 300_000 + 31_000) }), code: 'JWT_EXPIRED', says: /expired at 2026-06-01T12:05:00/ },
  { name: 'expired exp written by the key holder', token: () => signA(claims({ exp: nowS - 120, iat: nowS - 400 })), code: 'JWT_EXPIRED', says: /expired at/ },
  { name: 'not yet valid: nbf in the future', token: () => signA(claims({ nbf: nowS + 120 })), code: 'JWT_NOT_YET_VALID', says: /not valid before/ },
  { name: 'not yet valid: issued in the future (validator clock behind)', token: async () => good, opts: (o) => ({ ...o, clock: new ManualClock(clock.now() - 120_000) }), code: 'JWT_NOT_YET_VALID', says: /in the future/ },
  { name: 'wrong aud', token: async () => good, opts: (o) => ({ ...o, audience: 'billing' }), code: 'JWT_AUD_MISMATCH', says: /does not include "billing"/ },
  { name: 'missing aud', token: () => signA(claims({ aud: undefined })), code: 'JWT_AUD_MISSING', says: /no aud/ },
  { name: 'aud that is an empty list', token: () => signA(claims({ aud: [] })), code: 'JWT_AUD_MISSING', says: /empty list/ },
  { name: 'missing exp', token: () => signA(claims({ exp: undefined })), code: 'JWT_EXP_MISSING', says: /no exp/ },
  { name: 'exp that is not a number', token: () => signA(claims({ exp: String(nowS + 300) })), code: 'JWT_CLAIM_INVALID', says: /exp/ },
  {
    name: 'unknown kid (a key no bundle has)',
    token: () => signRaw(headerA({ kid: 'not-a-key-of-anyone' }), claims(), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
    code: 'JWT_KID_UNKNOWN', says: /not a JWT authority of trust domain example\.org/,
  },
  {
    name: 'kid of another domain (other.org signs for an example.org sub)',
    token: () => signRaw(headerA({ kid: B.activeKey().kid }), claims(), B.activeKey().key),
    code: 'JWT_KID_OTHER_DOMAIN', says: /key of trust domain other\.org, not of example\.org/,
  },
  {
    name: 'alg none',
    token: async () => `${b64url({ alg: 'none', typ: 'JWT', kid: A.activeKey().kid })}.${b64url(claims())}.`,
    code: 'JWT_ALG_NOT_ALLOWED', says: /alg "none" is not allowed/,
  },
  {
    name: 'HS256 with the public key as the HMAC secret',
    token: async () => {
      const pub = createPublicKey(A.activeKey().key).export({ type: 'spki', format: 'pem' });
      return new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: A.activeKey().kid, typ: 'JWT' }).sign(new TextEncoder().encode(String(pub)));
    },
    code: 'JWT_ALG_NOT_ALLOWED', says: /alg "HS256" is not allowed/,
  },
  {
    name: 'tampered payload (sub changed, signature kept)',
    token: async () => `${good.split('.')[0]}.${b64url({ ...partsOf(good)[1], sub: 'spiffe://example.org/admin' })}.${good.split('.')[2]}`,
    code: 'JWT_SIGNATURE_INVALID', says: /signature does not verify/,
  },
  {
    name: 'tampered payload (aud widened, signature kept)',
    token: async () => `${good.split('.')[0]}.${b64url({ ...partsOf(good)[1], aud: ['orders', 'billing'] })}.${good.split('.')[2]}`,
    opts: (o) => ({ ...o, audience: 'billing' }),
    code: 'JWT_SIGNATURE_INVALID', says: /signature/,
  },
  { name: 'sub that is not a SPIFFE ID', token: () => signA(claims({ sub: 'https://example.org/web' })), code: 'JWT_SUB_INVALID', says: /sub is not a SPIFFE ID/ },
  { name: 'no sub', token: () => signA(claims({ sub: undefined })), code: 'JWT_SUB_INVALID', says: /no sub/ },
  {
    name: 'sub in another trust domain than the validator accepts (a real other.org token)',
    token: async () => (await B.ca.jwt.mint(SpiffeId.parse('spiffe://other.org/web'), ['orders'])).token,
    opts: (o) => ({ ...o, trustDomain: TrustDomain.parse('example.org') }),
    code: 'JWT_TRUST_DOMAIN_UNTRUSTED', says: /only example\.org is accepted/,
  },
  {
    name: 'sub in another trust domain, signed with this domain\'s key',
    token: () => signA(claims({ sub: 'spiffe://other.org/web' })),
    code: 'JWT_KID_OTHER_DOMAIN', says: /key of trust domain example\.org, not of other\.org/,
  },
  { name: 'sub in a trust domain with no bundle', token: () => signA(claims({ sub: 'spiffe://nowhere.test/web' })), code: 'JWT_TRUST_DOMAIN_UNTRUSTED', says: /no bundle/ },
  { name: 'a header the spec does not allow (jku)', token: () => signA(claims(), headerA({ jku: 'https://evil.test/keys' })), code: 'JWT_HEADER_NOT_ALLOWED', says: /"jku"/ },
  { name: 'typ other than JWT or JOSE', token: () => signA(claims(), headerA({ typ: 'at+jwt' })), code: 'JWT_HEADER_NOT_ALLOWED', says: /typ/ },
  { name: 'no kid', token: () => signA(claims(), headerA({ kid: undefined })), code: 'JWT_KID_MISSING', says: /no kid/ },
  { name: 'alg that does not fit the key (ES384 header, P-256 key)', token: async () => `${b64url(headerA({ alg: 'ES384' }))}.${good.split('.')[1]}.${good.split('.')[2]}`, code: 'JWT_ALG_KEY_MISMATCH', says: /ES384 does not fit/ },
  { name: 'JWS JSON serialization', token: async () => JSON.stringify({ payload: good.split('.')[1], signatures: [] }), code: 'JWT_MALFORMED', says: /compact serialization/ },
  { name: 'a header that is not JSON', token: async () => `${Buffer.from('not json').toString('base64url')}.${good.split('.')[1]}.${good.split('.')[2]}`, code: 'JWT_MALFORMED', says: /JSON object/ },
  { name: 'an oversized token', token: async () => `${good}${'A'.repeat(9000)}`, code: 'JWT_TOO_LARGE', says: /longer than 8192/ },
];

describe('JWT-SVID validation refuses every wrong token with its exact reason', () => {
  test('a minted token validates: sub, aud, kid, exp', async () => {
    const v = await validateJwtSvid(good, base());
    assert.equal(v.spiffeId.toString(), web.toString());
    assert.deepEqual(v.audience, ['orders']);
    assert.equal(v.keyId, A.activeKey().kid);
    assert.equal(v.expiresAt.getTime(), clock.now() + 300_000);
    const [header, payload] = partsOf(good);
    assert.deepEqual(header, { alg: 'ES256', kid: A.activeKey().kid, typ: 'JWT' });
    assert.deepEqual(Object.keys(payload).sort(), ['aud', 'exp', 'iat', 'sub']);
  });

  test('a token is valid until exp plus the 30 s leeway (RFC 7519: the current time must be before exp)', async () => {
    await validateJwtSvid(good, { ...base(), clock: new ManualClock(clock.now() + 300_000 + 29_999) });
    await assert.rejects(validateJwtSvid(good, { ...base(), clock: new ManualClock(clock.now() + 300_000 + 30_000) }), { code: 'JWT_EXPIRED' });
  });

  for (const c of cases) {
    test(`${c.name}: ${c.code}`, async () => {
      const token = await c.token();
      const opts = c.opts ? c.opts(base()) : base();
      await assert.rejects(validateJwtSvid(token, opts), (err: unknown) => {
        assert.ok(err instanceof JwtSvidError, String(err));
        assert.equal(err.code, c.code, err.message);
        assert.match(err.message, c.says);
        assert.ok(!err.message.includes(token.slice(-20)), 'the message never quotes the token');
        return true;
      });
    });
  }
});
