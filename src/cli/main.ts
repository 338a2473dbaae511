// Entry point of the `trustplane` command: finds the command by its words, parses its options, runs it.
// Whatever goes wrong reaches the user as one line with a stable code, never as a stack trace: usage errors (exit 2)
// say what to change and point at --help; TrustplaneErrors (exit 1) carry their code; a file-system error is named
// with its path and errno; anything else is an internal error (TRUSTPLANE_DEBUG=1 adds the stack).
import { parseArgs } from 'node:util';
import { TrustplaneError } from '../errors.js';
import { errnoOf } from '../io/fs-errors.js';
import { createLogger, type Logger } from '../observe/log.js';
import { UsageError, type Command, type CommandIo } from './command.js';
import { commands } from './commands/index.js';

function helpFor(prefix: readonly string[]): string {
  const matching = commands.filter((c) => prefix.every((w, i) => c.path[i] === w));
  const width = Math.max(...matching.map((c) => c.path.join(' ').length));
  const lines = matching.map((c) => `  trustplane ${c.path.join(' ').padEnd(width)}  ${c.summary}`);
  return `trustplane — an identity control plane for Envoy (SPIFFE X.509-SVIDs over SDS, mTLS config generation)\n\nUsage:\n${lines.join('\n')}\n\nRun \`trustplane <command> --help\` for a command's options.\n`;
}

function commandHelp(c: Command): string {
  return `trustplane ${c.path.join(' ')} — ${c.summary}\n\n${c.usage.trim()}\n`;
}

function defaultIo(): CommandIo {
  let logger: Logger | undefined;
  return { stdout: process.stdout, stderr: process.stderr, logger: () => (logger ??= createLogger()) };
}

/** node:util parseArgs' messages, said the way the rest of the CLI says things. */
export function parseArgsMessage(err: Error & { code?: string }): string {
  const quoted = /'([^']*)'/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return quoted ? `unknown option ${quoted}` : 'unknown option';
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = quoted?.split(' ')[0];
      return flag ? (/argument missing/.test(err.message) ? `${flag} needs a value` : `${flag} takes no value`) : err.message;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return quoted !== undefined ? `unexpected argument "${quoted}"` : 'unexpected argument';
    default:
      return err.message;
  }
}

export async function main(argv: string[], io: CommandIo = defaultIo()): Promise<number> {
  const words = argv.filter((a) => !a.startsWith('-'));
  // The longest command path that prefixes the words given.
  const cmd = commands
    .filter((c) => c.path.every((w, i) => words[i] === w) && argv.slice(0, c.path.length).every((a, i) => a === c.path[i]))
    .sort((a, b) => b.path.length - a.path.length)[0];
  if (!cmd) {
    const known = commands.some((c) => c.path[0] === words[0]);
    const asked = argv.includes('--help') || argv.includes('-h');
    if (argv.length === 0 || asked) {
      io.stdout.write(helpFor(known ? [words[0]!] : []));
      return asked ? 0 : 2;
    }
    const what = known ? `"${argv.join(' ')}" is not a command; the ${words[0]} commands are ${commands.filter((c) => c.path[0] === words[0]).map((c) => c.path.join(' ')).join(', ')}` : `unknown command "${argv.join(' ')}"`;
    io.stderr.write(`trustplane: ${what}; see \`trustplane --help\`\n`);
    return 2;
  }
  const rest = argv.slice(cmd.path.length);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(commandHelp(cmd));
    return 0;
  }
  const name = `trustplane ${cmd.path.join(' ')}`;
  try {
    const parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: true, strict: true });
    const pos = cmd.positionals ?? { min: 0, max: 0, names: '' };
    if (parsed.positionals.length < pos.min || parsed.positionals.length > pos.max) {
      throw new UsageError(pos.max === 0 ? `this command takes no arguments (got "${parsed.positionals.join(' ')}")` : `expected ${pos.names}`);
    }
    return await cmd.run({ values: parsed.values as never, positionals: parsed.positionals, io });
  } catch (err) {
    const e = err as Error & { code?: string };
    if (err instanceof UsageError || e.code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`${name}: ${err instanceof UsageError ? e.message : parseArgsMessage(e)}; see \`${name} --help\`\n`);
      return 2;
    }
    io.stderr.write(`${name}: ${errorLine(err)}\n`);
    if (process.env['TRUSTPLANE_DEBUG'] && !(err instanceof TrustplaneError)) io.stderr.write(`${e.stack ?? ''}\n`);
    return 1;
  }
}

/** One line for any error: `message [CODE]`. */
export function errorLine(err: unknown): string {
  if (err instanceof TrustplaneError) return `${err.message} [${err.code}]`;
  const e = err as Error & { code?: unknown; path?: unknown; syscall?: unknown };
  const errno = errnoOf(err);
  if (errno) {
    const where = typeof e.path === 'string' ? ` ${e.path}` : '';
    const syscall = typeof e.syscall === 'string' ? `${e.syscall}` : 'I/O';
    return `${syscall}${where} failed: ${errno} [${errno}]`;
  }
  const first = String(e?.message ?? err).split('\n')[0];
  return `internal error: ${first} [INTERNAL_ERROR] (set TRUSTPLANE_DEBUG=1 for details)`;
}
