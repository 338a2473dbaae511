// bin/trustplane.js's process-wide handler: an error raised outside a command's own flow (a listener failing
// later, a promise nobody awaited) reaches the user as one line with a stable code and exit 1, never a stack
// trace; TRUSTPLANE_DEBUG=1 adds the stack. The real CLI runs in its own process; throw-once-running.ts, preloaded
// with node --import, raises the error once the handler is in place.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';

const BIN = join(process.cwd(), 'bin', 'trustplane.js');
const PRELOAD = pathToFileURL(join(import.meta.dirname, 'throw-once-running.js')).href;

function run(kind: string, debug = false) {
  const env: NodeJS.ProcessEnv = { ...process.env, TP_TEST_UNEXPECTED: kind };
  delete env['TRUSTPLANE_DEBUG'];
  if (debug) env['TRUSTPLANE_DEBUG'] = '1';
  // The timeout guards against a hang only: loading the CLI takes tens of seconds on a loaded 2-core machine.
  const r = spawnSync(process.execPath, ['--import', PRELOAD, BIN, 'id', 'parse', 'spiffe://example.org/ns/shop/sa/web'], { encoding: 'utf8', env, timeout: 120_000 });
  assert.equal(r.signal, null, 'did not have to be killed');
  return r;
}

describe('an unexpected error outside a command (the real CLI process)', () => {
  const cases: Array<[string, RegExp, string]> = [
    ['throw', /^trustplane: internal error: the listener broke \[INTERNAL_ERROR\] \(set TRUSTPLANE_DEBUG=1 for details\)$/, 'an Error thrown from a callback'],
    ['reject', /^trustplane: internal error: a promise nobody awaited failed \[INTERNAL_ERROR\] /, 'a rejected promise nobody awaited'],
    ['string', /^trustplane: internal error: a bare string \[INTERNAL_ERROR\] /, 'a thrown string'],
    ['errno', /^trustplane: open \/srv\/x failed: EACCES \[EACCES\]$/, 'an I/O error'],
  ];
  for (const [kind, line, what] of cases) {
    test(`${what}: one line, a stable code, exit 1, no stack`, () => {
      const r = run(kind);
      assert.equal(r.status, 1, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line: ${r.stderr}`);
      assert.match(lines[0]!, line);
      assert.doesNotMatch(r.stderr, /\n\s+at |node:internal|second line|Error:/);
    });
  }

  test('TRUSTPLANE_DEBUG=1 adds the stack after the same line', () => {
    const r = run('throw', true);
    assert.equal(r.status, 1, r.stderr);
    const [first, ...rest] = r.stderr.trimEnd().split('\n');
    assert.match(first!, /^trustplane: internal error: the listener broke \[INTERNAL_ERROR\]/);
    assert.match(rest.join('\n'), /^TypeError: the listener broke\n {4}at a second line[\s\S]*\n {4}at .*throw-once-running\.js/);
  });
});
