// What runs after an identity's files change, as spiffe-helper offers it: a command (e.g. a reload script) and/or a
// signal to a process (by pid or pid file), so a workload that does not watch its files picks up a renewal.
// Failures are logged, never thrown: the files are written either way, and the next renewal tries again.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { SvidFilesLogger } from './writer.js';

export interface AfterWrite {
  /** argv of a command run after each write (no shell); it gets TRUSTPLANE_SPIFFE_ID and TRUSTPLANE_SVID_DIR. */
  readonly command?: readonly string[];
  /** A signal sent after each write to the process whose pid is given, or read from pidFile at that moment. */
  readonly signal?: { readonly name: NodeJS.Signals; readonly pid?: number; readonly pidFile?: string };
}

function targetPid(signal: NonNullable<AfterWrite['signal']>): number {
  if (signal.pid !== undefined) return signal.pid;
  const text = readFileSync(signal.pidFile!, 'utf8').trim();
  if (!/^[1-9][0-9]*$/.test(text)) throw new Error(`pid file ${signal.pidFile} holds "${text.slice(0, 20)}", not a process id`);
  return Number(text);
}

export function runAfterWrite(hook: AfterWrite, spiffeId: string, dir: string, log: SvidFilesLogger): void {
  if (hook.command?.length) {
    const [file, ...args] = hook.command;
    const child = spawn(file!, args, { stdio: 'ignore', env: { ...process.env, TRUSTPLANE_SPIFFE_ID: spiffeId, TRUSTPLANE_SVID_DIR: dir } });
    child.on('error', (err) => log.warn({ spiffeId, command: file, error: err.message }, 'after-write command could not be started'));
    child.on('exit', (code, signal) => {
      if (code !== 0) log.warn({ spiffeId, command: file, code, signal }, 'after-write command failed');
    });
  }
  if (hook.signal) {
    try {
      process.kill(targetPid(hook.signal), hook.signal.name);
    } catch (err) {
      log.warn({ spiffeId, signal: hook.signal.name, error: (err as Error).message }, 'after-write signal could not be sent');
    }
  }
}
