import assert from 'node:assert/strict';
import { TrustplaneError } from '../../src/errors.js';

/** Asserts fn throws an instance of `cls` with `code` and a message containing every fragment. */
export function throwsCode<E extends TrustplaneError>(
  fn: () => unknown,
  cls: abstract new (...args: never[]) => E,
  code: string,
  ...fragments: string[]
): E {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected ${cls.name} ${code}, nothing was thrown`);
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${String(caught)}`);
  assert.ok(caught instanceof TrustplaneError);
  assert.equal(caught.code, code, `wrong code; message: ${caught.message}`);
  for (const f of fragments) assert.ok(caught.message.includes(f), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(f)}`);
  return caught;
}
