// The shape of a CLI command: declared options (node:util parseArgs), a usage text, and a run function that
// returns an exit code. Commands stay thin: they parse, call into the core, and print.
import type { ParseArgsConfig } from 'node:util';
import type { Logger } from '../observe/log.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly logger: () => Logger;
}

export interface CommandContext<O extends Options = Options> {
  readonly values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : O[K]['multiple'] extends true ? string[] : string };
  readonly positionals: string[];
  readonly io: CommandIo;
}

export interface Command<O extends Options = Options> {
  /** Words after `trustplane`, e.g. ['svid', 'mint']. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Usage line(s) and option descriptions printed by --help. */
  readonly usage: string;
  readonly options: O;
  readonly positionals?: { readonly min: number; readonly max: number; readonly names: string };
  run(ctx: CommandContext<O>): Promise<number>;
}

export function defineCommand<O extends Options>(c: Command<O>): Command<O> {
  return c;
}

/** Raised for a command line that cannot be run; printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
