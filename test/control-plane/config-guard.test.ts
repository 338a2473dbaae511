import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { silentLogger } from '../../src/observe/log.js';

const base = (dir: string) => ({ dataDir: join(dir, 'data'), meshFile: join(process.cwd(), 'examples', 'mesh.yaml'), unixSocket: '', adminAddress: '', drainMs: 0 });

const refused: Array<[string, Partial<Parameters<typeof ControlPlane.start>[0]>, string, RegExp]> = [
  ['--insecure on an address other hosts can reach', { insecure: true, tcpAddress: '0.0.0.0:0' }, 'INSECURE_NOT_LOOPBACK', /0\.0\.0\.0:0/],
  ['a TCP address that is not HOST:PORT', { insecure: false, tcpAddress: 'localhost' }, 'ADDRESS_INVALID', /xDS TCP address "localhost"/],
  ['an admin address that is not HOST:PORT', { insecure: false, tcpAddress: '', adminAddress: '127.0.0.1:99999' }, 'ADDRESS_INVALID', /admin address/],
];
for (const [name, config, code, message] of refused) {
  test(`serve refuses ${name}, before creating anything`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-guard-'));
    try {
      await assert.rejects(
        ControlPlane.start({ ...base(dir), tcpAddress: '', insecure: false, ...config } as never, { clock: new ManualClock(Date.now()), logger: silentLogger, watch: false }),
        (e: Error & { code?: string }) => e.code === code && message.test(e.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('--insecure on loopback starts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-guard-'));
  const cp = await ControlPlane.start({ ...base(dir), insecure: true, tcpAddress: '127.0.0.1:0' }, { clock: new ManualClock(Date.now()), logger: silentLogger, watch: false });
  assert.match(cp.tcpAddress!, /^127\.0\.0\.1:\d+$/);
  await cp.close();
  rmSync(dir, { recursive: true, force: true });
});
