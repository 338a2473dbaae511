// `npm run bench`: runs every benchmark in turn (each prints its figures beside a ceiling measured in the same run).
// Pass names to run a subset: `npm run bench -- mint push`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const all = ['mint', 'push', 'generate', 'reload', 'mesh-reload', 'als', 'jwt', 'replicas'];
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : all;
let failed = 0;
for (const name of wanted) {
  const file = join(root, 'dist', 'bench', `${name}.js`);
  if (!existsSync(file)) {
    console.error(`bench ${name}: ${file} not built`);
    failed++;
    continue;
  }
  console.log(`\n== bench/${name} ==`);
  const r = spawnSync(process.execPath, ['--expose-gc', file], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
