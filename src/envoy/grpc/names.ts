// Names of the proxyless-gRPC resources. A gRPC client asks LDS for exactly the name it dials (`xds:///NAME` →
// listener NAME); an xDS-enabled server asks for its bootstrap's server_listener_resource_name_template filled
// with the address it binds, byte for byte as passed to bindAsync (gRFC A36).
import { isIPv6 } from 'node:net';
import type { InboundPort, Outbound } from '../../mesh/model.js';

/** The certificate provider instance every generated TLS context names; the gRPC bootstrap defines it. */
export const CERTIFICATE_PROVIDER_INSTANCE = 'trustplane';

export const SERVER_LISTENER_TEMPLATE = 'grpc/server?xds.resource.listening_address=%s';

/** host:port as gRPC prints it: IPv6 in brackets. */
export function hostPort(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

export function serverListenerName(bindAddress: string, port: InboundPort | number): string {
  return SERVER_LISTENER_TEMPLATE.replace('%s', hostPort(bindAddress, typeof port === 'number' ? port : port.port));
}

/** The listener a client's channel to this dependency watches: the application dials `xds:///<name>`. */
export const clientListenerName = (dep: Outbound): string => dep.name;
export const grpcTarget = (dep: Outbound): string => `xds:///${clientListenerName(dep)}`;
export const clientRouteName = (dep: Outbound): string => `outbound_${dep.name}`;
export const clientClusterName = (dep: Outbound): string => `outbound_${dep.name}`;
export const serverRouteName = (port: InboundPort): string => `inbound_${port.port}`;
