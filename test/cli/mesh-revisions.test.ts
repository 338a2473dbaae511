import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EmbeddedDatastore } from '../../src/datastore/index.js';
import { cli } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'tp-revisions-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('trustplane apply / mesh history / mesh rollback', () => {
  test('applies a valid description once, refuses a bad one whole, lists the history and rolls back', async () => {
    const data = join(dir, 'data');
    const mesh = join(dir, 'mesh.yaml');
    copyFileSync(join('examples', 'mesh.yaml'), mesh);
    const first = await cli('apply', '--mesh', mesh, '--data-dir', data);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `applied ${mesh} as mesh revision 1\n`);
    assert.equal((await cli('apply', '--mesh', mesh, '--data-dir', data)).stdout, `${mesh} is already mesh revision 1; nothing changed\n`);

    writeFileSync(mesh, readFileSync(mesh, 'utf8').replace(/^trustDomain:.*$/m, 'trustDomain: [not, a, domain]'));
    const bad = await cli('apply', '--mesh', mesh, '--data-dir', data);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`${mesh.replaceAll('.', '\\.')}:\\d+:\\d+`));
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
    assert.equal((await new EmbeddedDatastore(data).meshRevision())?.revision, 1, 'nothing stored');

    writeFileSync(mesh, `${readFileSync(join('examples', 'mesh.yaml'), 'utf8')}\n# a comment is a new revision\n`);
    assert.equal((await cli('apply', '--mesh', mesh, '--data-dir', data)).stdout, `applied ${mesh} as mesh revision 2\n`);
    const back = await cli('mesh', 'rollback', '--to', '1', '--data-dir', data);
    assert.equal(back.stdout, 'mesh revision 3 restores revision 1\n');
    const history = await cli('mesh', 'history', '--data-dir', data);
    const lines = history.stdout.trim().split('\n');
    assert.match(lines[0]!, /^REVISION\s+APPLIED\s+BY\s+DIGEST$/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s{2,}/)[0]), ['3', '2', '1']);
    assert.match(lines[1]!, /rollback to 1$/);
    const json = JSON.parse((await cli('mesh', 'history', '--json', '--limit', '1', '--data-dir', data)).stdout) as { revision: number; rollbackOf: number }[];
    assert.deepEqual(json.map((h) => [h.revision, h.rollbackOf]), [[3, 1]]);

    const unknown = await cli('mesh', 'rollback', '--to', '9', '--data-dir', data);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^trustplane mesh rollback: mesh revision 9 is not in the history \(revisions 1\.\.3; .*\[DATASTORE_NOT_FOUND\]\n$/);
    assert.equal((await cli('mesh', 'rollback', '--data-dir', data)).code, 2);
    const url = await cli('apply', '--mesh', mesh, '--datastore', 'mysql://u:pw@h/db', '--data-dir', data);
    assert.equal(url.code, 1);
    assert.match(url.stderr, /DATASTORE_URL_INVALID/);
    assert.doesNotMatch(url.stderr, /:pw@/);
  });
});
