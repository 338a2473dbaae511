// Preloaded into a real `trustplane` process (node --import) by unexpected-error.test.ts: once bin/trustplane.js
// has registered its process-wide error handler, this raises an error outside any command's flow, as a listener
// failing later would. It lives with the tests and is loaded only by them: the CLI has no hook for it.
const kind = process.env['TP_TEST_UNEXPECTED'] ?? 'throw';

function raise(): void {
  switch (kind) {
    case 'throw':
      throw new TypeError('the listener broke\n    at a second line that must not be shown');
    case 'reject':
      void Promise.reject(new RangeError('a promise nobody awaited failed'));
      return;
    case 'string':
      throw 'a bare string';
    case 'errno':
      throw Object.assign(new Error('EACCES: permission denied, open \'/srv/x\''), { code: 'EACCES', errno: -13, syscall: 'open', path: '/srv/x' });
    default:
      throw new Error(`unknown TP_TEST_UNEXPECTED ${kind}`);
  }
}

const on = process.on.bind(process);
process.on = ((event: string, listener: (...args: unknown[]) => void) => {
  on(event, listener);
  if (event === 'uncaughtException') setImmediate(raise);
  return process;
}) as typeof process.on;
