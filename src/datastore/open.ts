// `--datastore`: absent = the embedded files in the data directory; postgres://... = a shared PostgreSQL.
import { EmbeddedDatastore } from './embedded.js';
import { DatastoreError, type Datastore } from './datastore.js';
import { PostgresDatastore, redactUrl } from './postgres.js';

export async function openDatastore(opts: { url?: string; dataDir: string; onError?: (message: string) => void }): Promise<Datastore> {
  if (!opts.url) return new EmbeddedDatastore(opts.dataDir);
  if (/^postgres(ql)?:\/\//.test(opts.url)) return PostgresDatastore.open({ url: opts.url, ...(opts.onError ? { onError: opts.onError } : {}) });
  throw new DatastoreError('DATASTORE_URL_INVALID', `--datastore ${redactUrl(opts.url)}: accepted is postgres://USER:PASSWORD@HOST:PORT/DB (or no --datastore for the embedded files)`);
}
