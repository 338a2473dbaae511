import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import { EmbeddedDatastore } from '../../src/datastore/index.js';
import { datastoreConformance } from './conformance.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const fresh = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'trustplane-ds-'));
  dirs.push(d);
  return d;
};

datastoreConformance('embedded', {
  async fresh() {
    const dir = fresh();
    return { ds: new EmbeddedDatastore(dir), another: async () => new EmbeddedDatastore(dir) };
  },
});

describe('embedded datastore files', () => {
  it('keeps its state 0600 in a 0700 directory, and survives a restart', async () => {
    const dir = fresh();
    const ds = new EmbeddedDatastore(dir);
    await ds.appendMeshRevision({ source: 'a', digest: 'a'.repeat(64), appliedBy: 'u', appliedAt: 1 });
    assert.equal(statSync(join(dir, 'datastore')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'datastore', 'state.json')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'datastore', 'revisions', '1.yaml')).mode & 0o777, 0o600);
    await ds.close();
    assert.equal((await new EmbeddedDatastore(dir).meshRevision())?.source, 'a');
  });
});
