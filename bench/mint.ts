// SVID minting throughput beside the node:crypto ceiling measured in the same run.
//   node dist/bench/mint.js [--seconds-per-case 0.8]
// Rows: mint with key generation vs raw P-256 keygen + sign; mint and first serve (into the identity store and
// encoded as the SDS Secret a proxy receives, what a renewal costs until it can be pushed) vs the same ceiling;
// sign-only mint (pre-generated keys) vs raw sign; and @peculiar/x509's general generator for reference.
import { generateKeyPairSync, sign, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from '../src/ca/certificate-authority.js';
import { generateLeafKey } from '../src/ca/leaf-key.js';
import { SpiffeId } from '../src/spiffe/id.js';
import { TrustDomain } from '../src/spiffe/trust-domain.js';
import { IdentityStore } from '../src/store/identity-store.js';
import { SecretSource } from '../src/xds/secrets/secrets.js';
import { TableIdentityPolicy } from '../src/xds/policy.js';
import { create } from '@bufbuild/protobuf';
import { NodeSchema } from '#gen/envoy/config/core/v3/base_pb';
import type { StreamContext } from '../src/xds/protocol/resolution.js';

const arg = process.argv.indexOf('--seconds-per-case');
const caseMs = (arg > 0 ? Number(process.argv[arg + 1]) : 0.9) * 1000;

/**
 * Rates of several cases measured in interleaved slices, so load from other processes on the machine falls on
 * each case alike and the ratios stay fair.
 */
function rates<const T extends readonly (() => void)[]>(...fns: T): { [K in keyof T]: number } {
  for (const fn of fns) for (let i = 0; i < 200; i++) fn(); // warm up
  const counts = fns.map(() => 0);
  const spent = fns.map(() => 0);
  const rounds = 8;
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, i) => {
      const t0 = performance.now();
      let t = t0;
      while (t - t0 < caseMs / rounds) {
        for (let j = 0; j < 20; j++) fn();
        counts[i]! += 20;
        t = performance.now();
      }
      spent[i]! += t - t0;
    });
  }
  return counts.map((n, i) => n / (spent[i]! / 1000)) as { [K in keyof T]: number };
}

async function rateAsync(fn: () => Promise<void>): Promise<number> {
  for (let i = 0; i < 20; i++) await fn();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < caseMs) {
    await fn();
    n++;
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}


async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'trustplane-bench-'));
  try {
    const td = TrustDomain.parse('bench.example');
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir });
    const id = SpiffeId.parse('spiffe://bench.example/ns/default/sa/bench');
    // The ceiling signs as many bytes as a real TBSCertificate, with a P-256 key like the CA's.
    const tbsSize = ca.mintX509Svid(id).leafDer.length - 72;
    const tbs = Buffer.alloc(tbsSize, 0x5a);
    const caKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

    const keys = Array.from({ length: 512 }, () => generateLeafKey('ec-p256').spkiDer);
    let k = 0;
    // First serve: the new SVID into the store, then resolved for a proxy as SDS does (encoded Secret bytes).
    const store = new IdentityStore(td.name);
    store.setBundle(ca.bundle());
    const secrets = new SecretSource(store, new TableIdentityPolicy([]));
    const ctx: StreamContext = { principal: { kind: 'insecure' }, node: create(NodeSchema), group: '', spiffeCertValidation: true };
    const name = id.toString();
    const serve = (svid: ReturnType<typeof ca.mintX509Svid>): void => {
      store.setSvid(svid);
      secrets.onStoreChange({ svids: [name], bundles: [] });
      if (secrets.resolve(ctx, name).kind !== 'found') throw new Error('bench: the minted SVID was not served');
    };
    const [ceilingKeygenSign, mint, mintServe, mintParsed, mintKeyPairSync] = rates(
      () => {
        generateKeyPairSync('ec', { namedCurve: 'P-256' });
        sign('sha256', tbs, caKey);
      },
      () => void ca.mintX509Svid(id),
      () => serve(ca.mintX509Svid(id)),
      () => void ca.mintX509Svid(id).chain,
      () => {
        const pair = generateKeyPairSync('ec', {
          namedCurve: 'P-256',
          publicKeyEncoding: { type: 'spki', format: 'der' },
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        });
        ca.signX509Svid(id, pair.publicKey);
      },
    );
    const [ceilingSign, signOnly] = rates(
      () => void sign('sha256', tbs, caKey),
      () => void ca.signX509Svid(id, keys[k++ & 511]!),
    );

    const x509 = await import('../src/spiffe/x509-lib.js');
    x509.cryptoProvider.set(webcrypto as unknown as Crypto);
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const caKeys = await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify']);
    const peculiar = await rateAsync(async () => {
      const leaf = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
      await x509.X509CertificateGenerator.create({
        serialNumber: '01',
        subject: 'O=trustplane',
        issuer: 'O=trustplane, CN=trustplane CA',
        notBefore: new Date(),
        notAfter: new Date(Date.now() + 3600_000),
        signingAlgorithm: alg,
        publicKey: leaf.publicKey,
        signingKey: caKeys.privateKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.SubjectAlternativeNameExtension([{ type: 'url', value: id.toString() }]),
        ],
      });
    });
    ca.close();

    const rows: [string, number, number | undefined][] = [
      ['ceiling: P-256 keygen + sign (raw node:crypto)', ceilingKeygenSign, undefined],
      ['mint SVID, key generation included', mint, ceilingKeygenSign],
      ['mint SVID + first serve (store, SDS Secret bytes)', mintServe, ceilingKeygenSign],
      ['  mint, then parsed into an X509Certificate', mintParsed, ceilingKeygenSign],
      ['  same, keys from generateKeyPairSync+encodings', mintKeyPairSync, ceilingKeygenSign],
      ['ceiling: sign (raw node:crypto)', ceilingSign, undefined],
      ['mint SVID, sign only (pre-generated keys)', signOnly, ceilingSign],
      ['@peculiar/x509 generator, keygen included', peculiar, ceilingKeygenSign],
    ];
    console.log('case'.padEnd(52) + 'per second'.padStart(12) + '  of ceiling');
    for (const [name, r, ceiling] of rows) {
      console.log(name.padEnd(52) + Math.round(r).toString().padStart(12) + (ceiling ? `  ${((100 * r) / ceiling).toFixed(1)}%` : ''));
    }
    const ratio = (a: number, b: number): number => Math.round((1000 * a) / b) / 1000;
    console.log(
      JSON.stringify({
        bench: 'mint',
        node: process.version,
        ceilingKeygenSignPerSec: Math.round(ceilingKeygenSign),
        mintPerSec: Math.round(mint),
        mintRatio: ratio(mint, ceilingKeygenSign),
        mintServePerSec: Math.round(mintServe),
        mintServeRatio: ratio(mintServe, ceilingKeygenSign),
        mintParsedPerSec: Math.round(mintParsed),
        mintKeyPairSyncPerSec: Math.round(mintKeyPairSync),
        ceilingSignPerSec: Math.round(ceilingSign),
        signOnlyPerSec: Math.round(signOnly),
        signOnlyRatio: ratio(signOnly, ceilingSign),
        peculiarPerSec: Math.round(peculiar),
        peculiarRatio: ratio(peculiar, ceilingKeygenSign),
      }),
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
