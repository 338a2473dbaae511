// Logs are pino JSON on stderr, so that commands which print a result (a bootstrap, a token) keep stdout clean.
// Key material is redacted by path as a second line of defence; the first is never handing a key to the logger.
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT = ['privateKeyPem', '*.privateKeyPem', 'privateKey', '*.privateKey', 'key', '*.key', 'token', '*.token'];

export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream | { write(s: string): void } } = {}): Logger {
  const level = opts.level ?? process.env.TRUSTPLANE_LOG_LEVEL ?? 'info';
  const dest = opts.destination ?? pino.destination({ fd: 2, sync: true });
  return pino({ name: 'trustplane', level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } }, dest as never);
}

/** A logger that writes nowhere; for library code used without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
