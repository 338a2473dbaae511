// The last good bundle of each endpoint-fetched trust domain, on disk: a restart serves it at once and does not
// depend on the remote endpoint being up. One file per trust domain, the document exactly as it was fetched (mode
// 0600, written atomically), with where and when it came from.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, writeFileAtomic } from '../ca/atomic-file.js';
import { X509Bundle } from '../spiffe/bundle.js';
import type { TrustDomain } from '../spiffe/trust-domain.js';

export interface HeldBundle {
  readonly bundle: X509Bundle;
  readonly url: string;
  readonly fetchedAt: number;
}

export class HeldBundleFiles {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'federation');
  }

  /** Trust domain names cannot hold "/", so the name is safe in a file name. */
  file(td: TrustDomain): string {
    return join(this.dir, `${td.name}.bundle.json`);
  }

  /** The held bundle, or undefined when there is none (or it no longer parses: the bootstrap takes over). */
  read(td: TrustDomain): HeldBundle | undefined {
    let text: string;
    try {
      text = readFileSync(this.file(td), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const rec = JSON.parse(text) as { url: string; fetchedAt: string; document: string };
      return { bundle: X509Bundle.fromSpiffeJson(td, rec.document), url: rec.url, fetchedAt: Date.parse(rec.fetchedAt) };
    } catch {
      return undefined;
    }
  }

  write(td: TrustDomain, document: string, url: string, fetchedAt: number): void {
    ensurePrivateDir(this.dir);
    const rec = { trustDomain: td.name, url, fetchedAt: new Date(fetchedAt).toISOString(), document };
    writeFileAtomic(this.file(td), `${JSON.stringify(rec, null, 2)}\n`, 0o600);
  }

  /** The relationship ended (SPIFFE Federation §6.3): the local copy goes. */
  remove(td: TrustDomain): void {
    rmSync(this.file(td), { force: true });
  }
}
