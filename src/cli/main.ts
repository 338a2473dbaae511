// Entry point of the `trustplane` command: finds the command by its words, parses its options, runs it.
import { parseArgs } from 'node:util';
import { TrustplaneError } from '../errors.js';
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

export async function main(argv: string[], io: CommandIo = defaultIo()): Promise<number> {
  const words = argv.filter((a) => !a.startsWith('-'));
  // The longest command path that prefixes the words given.
  const cmd = commands
    .filter((c) => c.path.every((w, i) => words[i] === w) && argv.slice(0, c.path.length).every((a, i) => a === c.path[i]))
    .sort((a, b) => b.path.length - a.path.length)[0];
  if (!cmd) {
    const known = commands.some((c) => c.path[0] === words[0]);
    if (argv.length === 0 || argv.includes('--help') || argv.includes('-h') || known) {
      io.stdout.write(helpFor(known ? [words[0]!] : []));
      return argv.length === 0 || (!argv.includes('--help') && !argv.includes('-h')) ? 2 : 0;
    }
    io.stderr.write(`trustplane: unknown command "${argv.join(' ')}"\n\n${helpFor([])}`);
    return 2;
  }
  const rest = argv.slice(cmd.path.length);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(commandHelp(cmd));
    return 0;
  }
  try {
    const parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: true, strict: true });
    const pos = cmd.positionals ?? { min: 0, max: 0, names: '' };
    if (parsed.positionals.length < pos.min || parsed.positionals.length > pos.max) {
      throw new UsageError(pos.max === 0 ? 'this command takes no arguments' : `expected ${pos.names}`);
    }
    return await cmd.run({ values: parsed.values as never, positionals: parsed.positionals, io });
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`trustplane ${cmd.path.join(' ')}: ${(err as Error).message}\n\n${commandHelp(cmd)}`);
      return 2;
    }
    if (err instanceof TrustplaneError) {
      io.stderr.write(`trustplane ${cmd.path.join(' ')}: ${err.message} [${err.code}]\n`);
      return 1;
    }
    throw err;
  }
}
