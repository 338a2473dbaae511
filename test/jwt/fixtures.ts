// Shared by the JWT tests: a CA per trust domain on one ManualClock, their bundles, and a way to sign arbitrary
// (wrong) tokens with a domain's real key, read from its data directory as an attacker holding it would.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { CompactSign } from 'jose';
import { CertificateAuthority, type CertificateAuthorityOptions } from '../../src/ca/certificate-authority.js';
import { ManualClock } from '../../src/clock.js';
import { BundleSet } from '../../src/spiffe/bundle.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'trustplane-jwt-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export interface Domain {
  readonly td: TrustDomain;
  readonly ca: CertificateAuthority;
  readonly dataDir: string;
  /** The active JWT key's ID and private key. */
  activeKey(): { kid: string; key: KeyObject };
}

export function openDomain(name: string, clock: ManualClock, opts: Partial<CertificateAuthorityOptions> = {}): Domain {
  const td = TrustDomain.parse(name);
  const dataDir = tempDir();
  const ca = CertificateAuthority.open({ trustDomain: td, dataDir, clock, ...opts });
  after(() => ca.close());
  return {
    td, ca, dataDir,
    activeKey() {
      const kid = ca.jwt.status().find((k) => k.state === 'active')!.keyId;
      return { kid, key: createPrivateKey(readFileSync(join(dataDir, 'ca', `jwt-${kid}.key.pem`))) };
    },
  };
}

export function bundlesOf(...domains: Domain[]): BundleSet {
  return new BundleSet(domains.map((d) => d.ca.bundle()));
}

/** Signs any header and claims set with jose's JWS writer (no JWT claim rules applied). */
export async function signRaw(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject | Uint8Array): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader(header as never).sign(key);
}

export const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
export const partsOf = (token: string): [Record<string, unknown>, Record<string, unknown>, string] => {
  const [h, p, s] = token.split('.');
  return [JSON.parse(Buffer.from(h!, 'base64url').toString()), JSON.parse(Buffer.from(p!, 'base64url').toString()), s!];
};

export { ManualClock };
