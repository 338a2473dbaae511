// In-process fan-out of datastore change notifications; a listener that throws does not stop the others.
import type { DatastoreChannel } from './datastore.js';

export class Notifier {
  static readonly #byKey = new Map<string, Notifier>();

  /** One notifier per key (a datastore directory) in this process. */
  static shared(key: string): Notifier {
    let n = Notifier.#byKey.get(key);
    if (!n) Notifier.#byKey.set(key, (n = new Notifier()));
    return n;
  }

  readonly #listeners = new Map<DatastoreChannel, Set<(payload: string) => void>>();

  on(channel: DatastoreChannel, listener: (payload: string) => void): () => void {
    let set = this.#listeners.get(channel);
    if (!set) this.#listeners.set(channel, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit(channel: DatastoreChannel, payload: string): void {
    for (const l of [...(this.#listeners.get(channel) ?? [])]) {
      try {
        l(payload);
      } catch {
        // A listener's failure is its own; the datastore's write has happened either way.
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
