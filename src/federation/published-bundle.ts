// The document the bundle endpoint serves: this trust domain's SPIFFE bundle (whatever authorities the bundle
// document holds, X.509 and any other use) with spiffe_refresh_hint and a spiffe_sequence that goes up whenever the
// document's contents change, across restarts (SPIFFE Trust Domain and Bundle §4.1.2). The sequence is kept in the
// data directory next to a digest of the contents it was given to, so a restart with the same contents serves the
// same number and a restart with new contents the next one. `trustplane bundle show --format spiffe` computes the
// document the same way from the same file, so it prints byte for byte what the endpoint serves.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../ca/atomic-file.js';
import { TrustplaneError } from '../errors.js';
import { DEFAULT_REFRESH_HINT_S } from './schedule.js';

/** Anything that writes itself as a SPIFFE bundle document (X509Bundle today; JWT authorities ride along). */
export interface BundleDocumentSource {
  toSpiffeJson(): string;
  readonly sequence?: number;
}

export interface PublishedState {
  readonly sequence: number;
  /** sha256 of the document without its spiffe_sequence. */
  readonly digest: string;
  readonly refreshHintSeconds: number;
}

export interface Publication extends PublishedState {
  /** The exact bytes served (UTF-8 JSON with a trailing newline). */
  readonly body: string;
}

export const PUBLISHED_STATE_FILE = 'bundle-endpoint.json';

type Json = Record<string, unknown>;

/** The document with its sequence and hint set, and the digest of everything but the sequence. */
function compose(source: BundleDocumentSource, refreshHintSeconds: number): { doc: Json; digest: string } {
  const parsed = JSON.parse(source.toSpiffeJson()) as Json;
  const { spiffe_sequence: _seq, spiffe_refresh_hint: _hint, ...rest } = parsed;
  // A JWK set has no order: keys are written sorted (x509-svid keys first, then jwt-svid, then any other use; within
  // a use by their JSON), so the same authorities always give the same bytes and sequence, whatever order the CA
  // lists them in.
  if (Array.isArray(rest['keys'])) {
    const rank = (k: unknown): number => ({ 'x509-svid': 0, 'jwt-svid': 1 } as Record<string, number>)[String((k as Json | null)?.['use'])] ?? 2;
    rest['keys'] = (rest['keys'] as unknown[])
      .map((k) => [rank(k), JSON.stringify(k), k] as const)
      .sort(([ra, a], [rb, b]) => ra - rb || (a < b ? -1 : a > b ? 1 : 0))
      .map(([, , k]) => k);
  }
  const doc: Json = { ...rest, spiffe_refresh_hint: refreshHintSeconds };
  return { doc, digest: createHash('sha256').update(JSON.stringify(doc)).digest('hex') };
}

/** The sequence for contents with `digest`: the held one if they are unchanged, else one more (never below the source's own). */
export function nextSequence(prev: PublishedState | undefined, digest: string, sourceSequence: number | undefined): number {
  if (prev && prev.digest === digest) return prev.sequence;
  return Math.max(prev ? prev.sequence + 1 : 1, sourceSequence ?? 0);
}

export function publication(source: BundleDocumentSource, refreshHintSeconds: number, prev: PublishedState | undefined): Publication {
  const { doc, digest } = compose(source, refreshHintSeconds);
  const sequence = nextSequence(prev, digest, source.sequence);
  return { sequence, digest, refreshHintSeconds, body: `${JSON.stringify({ ...doc, spiffe_sequence: sequence }, null, 2)}\n` };
}

export class PublishedStateError extends TrustplaneError {}

export function readPublishedState(dataDir: string): PublishedState | undefined {
  const file = join(dataDir, PUBLISHED_STATE_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PublishedStateError('BUNDLE_SEQUENCE_UNREADABLE', `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const s = JSON.parse(text) as Partial<PublishedState>;
    if (Number.isSafeInteger(s.sequence) && typeof s.digest === 'string' && Number.isSafeInteger(s.refreshHintSeconds)) {
      return { sequence: s.sequence!, digest: s.digest, refreshHintSeconds: s.refreshHintSeconds! };
    }
  } catch {
    // reported below
  }
  throw new PublishedStateError('BUNDLE_SEQUENCE_CORRUPT', `${file}: not a bundle endpoint state (sequence, digest, refreshHintSeconds), so the served spiffe_sequence cannot go on from it; restore the file, or remove it to restart the sequence from the CA's (federated peers holding a higher one refuse lower numbers until it passes theirs)`);
}

/**
 * The published document of one data directory: computes it for the current bundle and records a new sequence
 * before the new document is served, so no number is ever served for two different contents.
 */
export class BundlePublisher {
  #state: PublishedState | undefined;
  #current: Publication | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly refreshHintSeconds: number = DEFAULT_REFRESH_HINT_S,
  ) {
    this.#state = readPublishedState(dataDir);
  }

  get current(): Publication | undefined {
    return this.#current;
  }

  publish(source: BundleDocumentSource): Publication {
    const next = publication(source, this.refreshHintSeconds, this.#state);
    if (!this.#state || next.sequence !== this.#state.sequence || next.digest !== this.#state.digest || next.refreshHintSeconds !== this.#state.refreshHintSeconds) {
      const state: PublishedState = { sequence: next.sequence, digest: next.digest, refreshHintSeconds: next.refreshHintSeconds };
      writeFileAtomic(join(this.dataDir, PUBLISHED_STATE_FILE), `${JSON.stringify(state, null, 2)}\n`, 0o600);
      this.#state = state;
    }
    this.#current = next;
    return next;
  }
}

/** What a bundle endpoint on this data directory serves for `source` (read only): the hint it was last served with. */
export function previewPublication(dataDir: string, source: BundleDocumentSource, refreshHintSeconds?: number): Publication {
  const state = readPublishedState(dataDir);
  return publication(source, refreshHintSeconds ?? state?.refreshHintSeconds ?? DEFAULT_REFRESH_HINT_S, state);
}
