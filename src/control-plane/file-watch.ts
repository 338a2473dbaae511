// Watching one file for edits, whichever way they land: editors write a new file and rename it over the old one,
// and Kubernetes swaps a `..data` symlink, so the directory is watched, and an event there compares the file's
// content with what was last taken; only a real change calls back.
//
// The content last taken is kept (not a digest of it) and handed to the caller with the change: the file is read
// once per event, and a reload parses exactly the bytes that were compared.
//
// When to look: a rename in the directory (an atomic replace, a ConfigMap's symlink swap) lands a whole file in
// one event, so it is looked at right away (on the next turn of the event loop, coalescing a burst). A write in
// place arrives as several change events while the writer is still writing, so it is looked at once the file
// has been quiet for QUIET_MS; that wait is all the latency a watcher adds to a reload. (A non-atomic writer that
// truncates and rewrites may still be seen half-written after a pause longer than that: the half file is
// refused, the last good description keeps serving, and the next event brings the whole one.)
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../observe/log.js';

/** Quiet time after the last in-place write before the file is read. */
export const QUIET_MS = 25;

function readOrUndefined(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

const same = (a: Buffer | undefined, b: Buffer | undefined): boolean => (a === undefined || b === undefined ? a === b : a.equals(b));

export class FileWatch {
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #taken: Buffer | undefined;
  #closed = false;

  constructor(
    private readonly file: string,
    /** Called with the file's new content (undefined when it cannot be read now). */
    private readonly onChange: (content: Buffer | undefined) => void,
    private readonly logger: Logger,
    private readonly quietMs: number = QUIET_MS,
  ) {
    this.#taken = readOrUndefined(file);
    this.#arm();
  }

  /** The content the caller has now taken (read, or was handed) is the one to compare later events with. */
  taken(content: Buffer | undefined = readOrUndefined(this.file)): void {
    this.#taken = content;
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    clearTimeout(this.#debounce);
  }

  #look(): void {
    clearTimeout(this.#debounce);
    this.#debounce = undefined;
    if (this.#closed) return;
    const now = readOrUndefined(this.file);
    if (!same(now, this.#taken)) this.onChange(now);
  }

  #arm(): void {
    const dir = dirname(this.file);
    this.#watcher = watch(dir, (event) => {
      clearTimeout(this.#debounce);
      if (event === 'rename') this.#debounce = setTimeout(() => this.#look(), 0);
      else this.#debounce = setTimeout(() => this.#look(), this.quietMs);
    });
    this.#watcher.on('error', (err) => {
      this.logger.warn({ dir, error: err.message }, 'watching failed; watching again');
      this.#watcher?.close();
      if (!this.#closed) this.#arm();
    });
  }
}
