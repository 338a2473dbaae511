// JWT-SVIDs minted and validated per second, beside a raw node:crypto ES256 sign / verify ceiling in the same run.
//   node dist/bench/jwt.js [--seconds-per-case 0.8]
// The ceiling signs (verifies) the same JWS signing input with the same P-256 key, synchronously, and does nothing
// else: no header or claims, no base64url, no JSON. trustplane's rows are the whole path: mint = claims checks,
// journal reservation, jose's SignJWT (WebCrypto); validate = every JWT-SVID rule, key lookup in the bundle, jose's
// jwtVerify. Cases run in interleaved slices so load from other processes falls on each alike. One at a time
// (latency-bound) and 32 in flight (WebCrypto runs on libuv's thread pool, so concurrency can use more cores).
import { createPrivateKey, createPublicKey, sign, verify, webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from '../src/ca/certificate-authority.js';
import { validateJwtSvid } from '../src/jwt/validate.js';
import { BundleSet } from '../src/spiffe/bundle.js';
import { SpiffeId } from '../src/spiffe/id.js';
import { TrustDomain } from '../src/spiffe/trust-domain.js';

const arg = process.argv.indexOf('--seconds-per-case');
const caseMs = (arg > 0 ? Number(process.argv[arg + 1]) : 0.8) * 1000;
const IN_FLIGHT = 32;

/** Rates (ops/s) of async cases measured in interleaved slices; each op is awaited `inFlight` at a time. */
async function rates(inFlight: number, ...fns: [() => unknown, () => unknown, () => unknown, () => unknown]): Promise<[number, number, number, number]> {
  for (const fn of fns) for (let i = 0; i < 100; i++) await fn(); // warm up
  const counts = fns.map(() => 0);
  const spent = fns.map(() => 0);
  const rounds = 8;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < fns.length; i++) {
      const fn = fns[i]!;
      const t0 = performance.now();
      let t = t0;
      while (t - t0 < caseMs / rounds) {
        const batch: unknown[] = [];
        for (let j = 0; j < inFlight; j++) batch.push(fn());
        await Promise.all(batch);
        counts[i]! += inFlight;
        t = performance.now();
      }
      spent[i]! += t - t0;
    }
  }
  return counts.map((n, i) => n / (spent[i]! / 1000)) as [number, number, number, number];
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'trustplane-bench-jwt-'));
  try {
    const td = TrustDomain.parse('bench.example');
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir });
    const id = SpiffeId.parse('spiffe://bench.example/ns/default/sa/bench');
    const aud = ['spiffe://bench.example/ns/default/sa/server'];
    const sample = await ca.jwt.mint(id, aud);
    const key = createPrivateKey(readFileSync(join(dataDir, 'ca', `jwt-${sample.keyId}.key.pem`)));
    const pub = createPublicKey(key);
    const input = Buffer.from(sample.token.slice(0, sample.token.lastIndexOf('.')));
    const sig = sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' });
    const bundles = new BundleSet([ca.bundle()]);
    const tokens = await Promise.all(Array.from({ length: 256 }, () => ca.jwt.mint(id, aud).then((s) => s.token)));
    let k = 0;
    // What jose itself calls: WebCrypto ECDSA P-256 on the same input, for the share of the gap that is WebCrypto's.
    const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const subtleKey = await webcrypto.subtle.importKey('pkcs8', key.export({ type: 'pkcs8', format: 'der' }), ecdsa, false, ['sign']);
    const subtleSign = (): Promise<unknown> => webcrypto.subtle.sign(ecdsa, subtleKey, input);

    const ceilingSign = (): void => void sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' });
    const ceilingVerify = (): void => {
      if (!verify('sha256', input, { key: pub, dsaEncoding: 'ieee-p1363' }, sig)) throw new Error('ceiling verify failed');
    };
    const mint = (): Promise<unknown> => ca.jwt.mint(id, aud);
    const validate = (): Promise<unknown> => validateJwtSvid(tokens[k++ & 255]!, { audience: aud[0]!, bundles });

    const [cs1, m1, cv1, v1] = await rates(1, ceilingSign, mint, ceilingVerify, validate);
    const [csN, mN, cvN, vN] = await rates(IN_FLIGHT, ceilingSign, mint, ceilingVerify, validate);
    const [cs2, ws1, m2, wsN] = await rates(1, ceilingSign, subtleSign, mint, subtleSign);
    void wsN;
    ca.close();

    const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(1)}%`;
    const rows: [string, number, number | undefined][] = [
      ['ceiling: ES256 sign (raw node:crypto, sync)', cs1, undefined],
      ['mint JWT-SVID, one at a time', m1, cs1],
      [`mint JWT-SVID, ${IN_FLIGHT} in flight`, mN, csN],
      ['  reference: WebCrypto ES256 sign (what jose calls)', ws1, cs2],
      ['  mint, same slices as the reference', m2, cs2],
      ['ceiling: ES256 verify (raw node:crypto, sync)', cv1, undefined],
      ['validate JWT-SVID, one at a time', v1, cv1],
      [`validate JWT-SVID, ${IN_FLIGHT} in flight`, vN, cvN],
    ];
    console.log(`node ${process.version}, ${cpus().length} CPUs, token ${sample.token.length} bytes, ${caseMs} ms per case`);
    console.log('case'.padEnd(48) + 'per second'.padStart(12) + '  of ceiling');
    for (const [name, r, ceiling] of rows) console.log(name.padEnd(48) + Math.round(r).toString().padStart(12) + (ceiling ? `  ${pct(r, ceiling)}` : ''));
    const ratio = (a: number, b: number): number => Math.round((1000 * a) / b) / 1000;
    console.log(
      JSON.stringify({
        bench: 'jwt',
        node: process.version,
        ceilingSignPerSec: Math.round(cs1),
        mintPerSec: Math.round(m1),
        mintRatio: ratio(m1, cs1),
        mintConcurrentPerSec: Math.round(mN),
        mintConcurrentRatio: ratio(mN, csN),
        webcryptoSignRatio: ratio(ws1, cs2),
        mintOfWebcryptoSign: ratio(m2, ws1),
        ceilingVerifyPerSec: Math.round(cv1),
        validatePerSec: Math.round(v1),
        validateRatio: ratio(v1, cv1),
        validateConcurrentPerSec: Math.round(vN),
        validateConcurrentRatio: ratio(vN, cvN),
      }),
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
