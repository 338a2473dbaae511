// The Workload Endpoint address (SPIFFE Workload Endpoint §4): an RFC 3986 URI, `unix:///absolute/path` (no
// authority) or `tcp://<IP>:<port>` (nothing else), as SPIFFE_ENDPOINT_SOCKET carries it.
import { isIP } from 'node:net';
import { TrustplaneError } from '../errors.js';

export class WorkloadApiAddressError extends TrustplaneError {}

export interface WorkloadApiAddress {
  /** The address as given, for messages and status. */
  readonly uri: string;
  /** The grpc-js target. */
  readonly target: string;
}

export function parseWorkloadApiAddress(uri: string, what = 'Workload API address'): WorkloadApiAddress {
  const fail = (why: string): never => {
    throw new WorkloadApiAddressError('WORKLOAD_API_ADDRESS_INVALID', `${what} "${uri}": ${why} (accepted: unix:///absolute/path/to/socket or tcp://IP:PORT)`);
  };
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return fail('not a URI');
  }
  if (u.search || u.hash || u.username || u.password) fail('a query, fragment or user part is not allowed');
  if (u.protocol === 'unix:') {
    if (!uri.startsWith('unix:///')) fail('a unix address has no authority and an absolute path: unix:///path');
    if (u.pathname === '/' || u.pathname.endsWith('/')) fail('the path must name the socket file');
    const path = decodeURIComponent(u.pathname);
    return { uri, target: `unix://${path}` };
  }
  if (u.protocol === 'tcp:') {
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (!isIP(host)) fail('the host of a tcp address must be an IP address');
    if (!u.port) fail('a tcp address needs a port');
    if (u.pathname && u.pathname !== '/' && u.pathname !== '') fail('a tcp address has no path');
    if (uri.endsWith('/')) fail('a tcp address has no path');
    return { uri, target: `${u.hostname}:${u.port}` };
  }
  return fail(`the scheme must be unix or tcp, got "${u.protocol.replace(/:$/, '')}"`);
}
