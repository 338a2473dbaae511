// Runs the trustplane CLI in-process with captured stdout, stderr and log lines.
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { createLogger } from '../../src/observe/log.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  logs: string;
}

export async function cli(...argv: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  let logs = '';
  const logSink = new Writable({ write(chunk, _enc, done) { logs += String(chunk); done(); } });
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    logger: () => createLogger({ level: 'debug', destination: logSink }),
  });
  return { code, stdout, stderr, logs };
}
