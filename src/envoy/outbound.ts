// Outbound side of a sidecar: a cluster per dependency, and a loopback listener for the application where the
// description gives the dependency a listenPort.
//
// mTLS to every server whose mode is PERMISSIVE or STRICT (both accept it), plaintext to DISABLE servers, which
// have no TLS chain at all. A client whose own mode is DISABLE is not migrated yet and calls in plaintext too
// (the mesh description's meaning; `trustplane lint` TP0003 flags such a client of a STRICT server). The server's identity is checked in the handshake: exact URI SAN matchers for the
// IDs it may present, in default_validation_context, anchored by its trust domain's bundle over SDS.
import { isIP } from 'node:net';
import type { ListenerSchema } from '#gen/envoy/config/listener/v3/listener_pb';
import { TrafficDirection } from '#gen/envoy/config/core/v3/base_pb';
import type { ClusterSchema } from '#gen/envoy/config/cluster/v3/cluster_pb';
import type { MeshModel, Outbound, Service } from '../mesh/model.js';
import { lasting } from './memo.js';
import { appFilter } from './app-filters.js';
import { endpointCluster, socketAddress } from './cluster.js';
import { EnvoyGenerateError } from './errors.js';
import { outboundClusterName, outboundListenerName } from './names.js';
import type { ResourceOptions } from './options.js';
import { validationSecretName } from './sds.js';
import { upstreamTlsSocket } from './tls.js';
import type { Init } from './typed.js';

export function usesMtls(client: Service, dep: Outbound): boolean {
  return client.mode !== 'DISABLE' && dep.serverMode !== 'DISABLE';
}

/** ALPN the client offers: h2 where the protocol needs HTTP/2 (gRPC); otherwise none, the server's default. */
export function outboundAlpn(dep: Outbound): string[] {
  return dep.protocol === 'grpc' ? ['h2'] : [];
}

/** SNI: the server's host name, for servers and middleboxes that route by it; never an IP (RFC 6066 forbids). */
export function outboundSni(dep: Outbound): string {
  const host = dep.endpoints[0]?.address ?? '';
  return isIP(host) === 0 ? host : '';
}

/** mTLS to a server no ID is expected of could not check whom it reached: refused. */
export function requireServerIds(service: Service, dep: Outbound): void {
  if (dep.spiffeIds.length === 0) {
    throw new EnvoyGenerateError(
      'NO_SERVER_SPIFFE_ID',
      `${service.name} → ${dep.name} (${dep.path}): the server is ${dep.serverMode} but no SPIFFE ID is expected of it; ` +
        'list the IDs it may present, or set its mode to DISABLE',
    );
  }
}

export function outboundCluster(service: Service, dep: Outbound, opts: ResourceOptions): Init<typeof ClusterSchema> {
  const name = outboundClusterName(dep);
  let transportSocket;
  if (usesMtls(service, dep)) {
    requireServerIds(service, dep);
    transportSocket = upstreamTlsSocket({
      svidName: service.spiffeId.toString(),
      validationName: validationSecretName(dep.spiffeIds.map((id) => id.trustDomain)),
      peerSpiffeIds: dep.spiffeIds,
      alpn: outboundAlpn(dep),
      sni: outboundSni(dep),
      policy: opts.sds,
    });
  }
  return endpointCluster({
    name,
    endpoints: dep.endpoints,
    http2: dep.protocol === 'grpc',
    connectTimeoutMs: opts.connectTimeoutMs,
    ...(transportSocket ? { transportSocket } : {}),
  });
}

/** The application's plaintext way to the dependency: 127.0.0.1:<listenPort> → the dependency's cluster. */
export function outboundListener(mesh: MeshModel, dep: Outbound & { readonly listenPort: number }, opts: ResourceOptions): Init<typeof ListenerSchema> {
  const name = outboundListenerName(dep);
  const cluster = outboundClusterName(dep);
  // A function of the protocol and the two names alone: kept across reloads.
  const filter = lasting(mesh, opts, `filter|${dep.protocol}|${name}|${cluster}`, () => appFilter(dep.protocol, name, cluster));
  return {
    name,
    address: socketAddress(opts.outboundBindAddress, dep.listenPort),
    statPrefix: name,
    trafficDirection: TrafficDirection.OUTBOUND,
    filterChains: [{ name: 'app', filters: [filter] }],
  };
}
