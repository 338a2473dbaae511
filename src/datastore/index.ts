export * from './datastore.js';
export { EmbeddedDatastore, EMBEDDED_STATE_VERSION } from './embedded.js';
export { PostgresDatastore, redactUrl, type PostgresOptions } from './postgres.js';
export { openDatastore } from './open.js';
export { MIGRATIONS, LATEST_SCHEMA } from './migrations.js';
