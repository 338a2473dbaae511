import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { DatastoreError, LATEST_SCHEMA, openDatastore, PostgresDatastore } from '../../src/datastore/index.js';
import { datastoreConformance } from './conformance.js';
import { startTestPostgres, type TestPostgres } from './pg-server.js';

let server: TestPostgres;
before(async () => {
  server = await startTestPostgres();
});
after(async () => {
  await server.close();
});

datastoreConformance('postgres', {
  async fresh() {
    const url = await server.newDatabase();
    return { ds: await PostgresDatastore.open({ url }), another: () => PostgresDatastore.open({ url }) };
  },
});

describe('postgres datastore', () => {
  it('replicas starting together migrate the schema once, under the lock', async () => {
    const url = await server.newDatabase();
    const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresDatastore.open({ url })));
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const rows = (await c.query('select version from tp_schema order by version')).rows.map((r) => r.version);
    await c.end();
    assert.deepEqual(rows, Array.from({ length: LATEST_SCHEMA }, (_, i) => i + 1));
    for (const s of stores) await s.close();
  });

  it('refuses a schema newer than it knows, and a bad URL, with codes and without the password', async () => {
    const url = await server.newDatabase();
    const s = await PostgresDatastore.open({ url });
    await s.close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`insert into tp_schema (version, description) values (${LATEST_SCHEMA + 1}, 'from the future')`);
    await c.end();
    await assert.rejects(PostgresDatastore.open({ url }), (e: unknown) => e instanceof DatastoreError && e.code === 'DATASTORE_SCHEMA_TOO_NEW');
    await assert.rejects(openDatastore({ url: 'mysql://u:secret@h/db', dataDir: '/nonexistent' }), (e: unknown) => e instanceof DatastoreError && e.code === 'DATASTORE_URL_INVALID' && !e.message.includes('secret'));
    const down = new URL(url);
    down.port = '1';
    down.password = 'hunter2';
    await assert.rejects(PostgresDatastore.open({ url: down.toString(), statementTimeoutMs: 2_000 }), (e: unknown) => e instanceof DatastoreError && e.code === 'DATASTORE_UNAVAILABLE' && !e.message.includes('hunter2') && !e.message.includes('\n'));
  });

  it('a stopped database fails calls clearly, and the same handle works again when it returns', { timeout: 120_000 }, async (t) => {
    if (server.external) {
      t.diagnostic('external PostgreSQL: not stopped by the test');
      return;
    }
    const url = await server.newDatabase();
    const ds = await PostgresDatastore.open({ url, statementTimeoutMs: 2_000 });
    const heard: string[] = [];
    let wake = (): void => {};
    await ds.watch('mesh', (p) => {
      heard.push(p);
      wake();
    });
    const src = (n: number): string => `revision ${n}\n`;
    const digest = async (s: string): Promise<string> => (await import('node:crypto')).createHash('sha256').update(s).digest('hex');
    await ds.appendMeshRevision({ source: src(1), digest: await digest(src(1)), appliedBy: 'u', appliedAt: 1 });
    await server.stop();
    await assert.rejects(ds.meshRevision(), (e: unknown) => e instanceof DatastoreError && e.code === 'DATASTORE_UNAVAILABLE');
    await server.start();
    assert.equal((await ds.meshRevision())?.source, src(1));
    // LISTEN is re-established after the outage (changes made before that are the poll's job): keep changing the
    // mesh until a change is heard.
    const other = await PostgresDatastore.open({ url });
    let n = 1;
    const seen = new Promise<void>((ok) => {
      wake = () => heard.some((p) => Number(p) > 1) && ok();
    });
    let timer: NodeJS.Timeout | undefined;
    const tick = async (): Promise<void> => {
      n++;
      await other.appendMeshRevision({ source: src(n), digest: await digest(src(n)), appliedBy: 'u', appliedAt: n });
      timer = setTimeout(() => void tick(), 200);
    };
    await tick();
    await seen;
    clearTimeout(timer);
    await other.close();
    await ds.close();
  });
});
