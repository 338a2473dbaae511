import * as grpc from '@grpc/grpc-js';
import { TrustplaneError } from '../../errors.js';

export class BindError extends TrustplaneError {}

/** Binds, and says in one line why an address cannot be used (grpc-js says "No address added out of total 1 resolved"). */
export function bindAsync(server: grpc.Server, address: string, credentials: grpc.ServerCredentials, what = 'xDS'): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, credentials, (err, port) => (err ? reject(bindError(err, address, what)) : resolve(port))),
  );
}

/** The listen errno inside a bind failure, e.g. EADDRINUSE. */
function listenErrno(message: string): string | undefined {
  return /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL|EPERM|ENOENT|ENOTDIR|ENAMETOOLONG|EINVAL)\b/.exec(message)?.[1];
}

export function bindError(err: Error, address: string, what: string): BindError {
  const errno = listenErrno(err.message);
  const at = `${what} address ${address.replace(/^unix:/, '')}`;
  switch (errno) {
    case 'EADDRINUSE':
      return new BindError('ADDRESS_IN_USE', `${at} is already in use by another process (EADDRINUSE); stop it or choose another address`);
    case 'EACCES':
    case 'EPERM':
      return new BindError('ADDRESS_NOT_PERMITTED', `${at}: not permitted (${errno}); ports below 1024 need privileges`);
    case 'EADDRNOTAVAIL':
      return new BindError('ADDRESS_NOT_AVAILABLE', `${at}: no interface of this host has that address (EADDRNOTAVAIL)`);
    default:
      return new BindError('BIND_FAILED', `${at}: cannot listen (${errno ?? err.message.split('\n')[0]})`);
  }
}

/** Server options shared by every xDS listener: streams live for hours, so keepalive finds dead proxies. */
export const XDS_SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  'grpc.max_receive_message_length': 4 * 1024 * 1024,
};
