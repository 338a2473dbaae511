// Watching one file for edits, whichever way they land: editors write a new file and rename it over the old one,
// and Kubernetes swaps a `..data` symlink, so the directory is watched and any event there (debounced) compares
// the file's content with what was last taken; only a real change calls back.
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../observe/log.js';

const DEBOUNCE_MS = 200;

export function fileDigest(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

export class FileWatch {
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #taken: string | undefined;
  #closed = false;

  constructor(
    private readonly file: string,
    private readonly onChange: () => void,
    private readonly logger: Logger,
  ) {
    this.#taken = fileDigest(file);
    this.#arm();
  }

  /** The content the caller has now taken (read) is the one to compare later events with. */
  taken(): void {
    this.#taken = fileDigest(this.file);
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    clearTimeout(this.#debounce);
  }

  #arm(): void {
    const dir = dirname(this.file);
    this.#watcher = watch(dir, () => {
      clearTimeout(this.#debounce);
      this.#debounce = setTimeout(() => {
        if (fileDigest(this.file) !== this.#taken) this.onChange();
      }, DEBOUNCE_MS);
    });
    this.#watcher.on('error', (err) => {
      this.logger.warn({ dir, error: err.message }, 'watching failed; watching again');
      this.#watcher?.close();
      if (!this.#closed) this.#arm();
    });
  }
}
