// grpc-js prints its own errors to stderr ("E No address added out of total 1 resolved") beside the one-line error
// trustplane gives for the same failure. Its lines go into trustplane's log instead, at debug level.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../observe/log.js';

export function routeGrpcLogs(logger: Logger): void {
  const log = (...args: unknown[]): void => logger.debug({ component: 'grpc-js' }, args.map(String).join(' '));
  grpc.setLogger({ error: log, warn: log, info: log, debug: log } as unknown as Partial<Console>);
}
