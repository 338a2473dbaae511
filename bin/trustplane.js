#!/usr/bin/env node
// The `trustplane` command. The TypeScript sources are compiled to dist/ by `npm run build` (run by `npm ci`).
import { errorLine, main } from '../dist/src/cli/main.js';

// An error raised outside a command's own flow (a listener failing later, say) is still one line, not a stack.
process.on('uncaughtException', (err) => {
  process.stderr.write(`trustplane: ${errorLine(err)}\n`);
  if (process.env.TRUSTPLANE_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
  process.exit(1);
});
process.exitCode = await main(process.argv.slice(2));
