// The README's JWT-SVID commands, run as written in a fresh working directory (its ./.trustplane is the data
// directory both use): mint prints a token, verify accepts it from stdin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './fixtures.js';

test('README, JWT-SVIDs: jwt mint, then jwt verify of its output', () => {
  const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## JWT-SVIDs and OIDC discovery'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'the section has a shell block');
  const lines = block.split('\n').filter((l) => l.trim());
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.startsWith('npx trustplane jwt ')));
  const bin = join(process.cwd(), 'bin', 'trustplane.js');
  // `npx trustplane ARGS` runs this checkout's CLI, as npx does inside the repository.
  const script = `npx() { shift; "${process.execPath}" "${bin}" "$@"; }\nset -e\n${lines.join('\n')}\n`;
  const r = spawnSync('sh', ['-c', script], { cwd: tempDir(), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^valid: spiffe:\/\/example\.org\/ns\/shop\/sa\/web \(aud orders; kid [\w-]+; expires /);
});
