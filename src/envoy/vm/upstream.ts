// Upstream TLS for targets that call servers with their own expectations of a client (vm, gateway): the SNI and
// ALPN an Istio sidecar or east-west gateway expects, or those the description states for any other server.
//
// Istio's clients originating mesh mTLS send SNI = the cluster name, outbound_.<port>_._.<host> (Istio's
// east-west gateway in AUTO_PASSTHROUGH routes by it, and the server sidecar's inbound chains accept it), and
// ALPN istio-peer-exchange, istio (+ h2 for HTTP/2), which Istio's inbound mTLS filter chains match
// (allIstioMtlsALPNs in pilot/pkg/networking/core). The server's identity is checked exactly, as everywhere in
// trustplane: the URI SAN spiffe://<istio td>/ns/<ns>/sa/<sa>, anchored by Istio's root, which the mesh
// description federates (trust domain cluster.local) unless trustplane's CA is an intermediate under it.
import type { IstioDestination, Outbound, Service } from '../../mesh/model.js';
import { endpointCluster } from '../cluster.js';
import { EnvoyGenerateError } from '../errors.js';
import { outboundClusterName } from '../names.js';
import type { ResourceOptions } from '../options.js';
import type { ClusterInit } from '../resources.js';
import { outboundAlpn, outboundCluster, outboundSni, usesMtls } from '../outbound.js';
import { validationSecretName } from '../sds.js';
import { upstreamTlsSocket } from '../tls.js';

/** ALPN of Istio's mesh mTLS: istio-peer-exchange for its metadata exchange, istio for plain mesh mTLS. */
export const ISTIO_MTLS_ALPN: readonly string[] = ['istio-peer-exchange', 'istio'];

/** The SNI Istio clients send to a service port: the outbound cluster's name. */
export function istioSni(istio: Pick<IstioDestination, 'host' | 'port'>): string {
  return `outbound_.${istio.port}_._.${istio.host}`;
}

/** Whether the dependency carries expectations the sidecar's outbound cluster does not know. */
export function hasUpstreamExpectations(dep: Outbound): boolean {
  return dep.kind === 'external' && (dep.istio !== undefined || dep.sni !== undefined || dep.alpn !== undefined);
}

export function upstreamSni(dep: Outbound): string {
  if (dep.kind === 'external' && dep.istio) return istioSni(dep.istio);
  if (dep.kind === 'external' && dep.sni !== undefined) return dep.sni;
  return outboundSni(dep);
}

/** Istio's list plus h2 where the upstream speaks HTTP/2 (gRPC), as Istio's own HTTP/2 clients offer it. */
export function upstreamAlpn(dep: Outbound): string[] {
  if (dep.kind === 'external' && dep.istio) return [...ISTIO_MTLS_ALPN, ...(dep.protocol === 'grpc' ? ['h2'] : [])];
  if (dep.kind === 'external' && dep.alpn !== undefined) return [...dep.alpn];
  return outboundAlpn(dep);
}

/**
 * The cluster of one dependency: the sidecar's outbound cluster, with the SNI and ALPN of an Istio service (or
 * those written in the description) where the dependency has them. The client presents `service`'s SVID.
 */
export function upstreamCluster(service: Service, dep: Outbound, opts: ResourceOptions): ClusterInit {
  if (!hasUpstreamExpectations(dep) || !usesMtls(service, dep)) return outboundCluster(service, dep, opts);
  if (dep.spiffeIds.length === 0) {
    throw new EnvoyGenerateError(
      'NO_SERVER_SPIFFE_ID',
      `${service.name} → ${dep.name} (${dep.path}): the server is ${dep.serverMode} but no SPIFFE ID is expected of it`,
    );
  }
  return endpointCluster({
    name: outboundClusterName(dep),
    endpoints: dep.endpoints,
    http2: dep.protocol === 'grpc',
    connectTimeoutMs: opts.connectTimeoutMs,
    transportSocket: upstreamTlsSocket({
      svidName: service.spiffeId.toString(),
      validationName: validationSecretName(dep.spiffeIds.map((id) => id.trustDomain)),
      peerSpiffeIds: dep.spiffeIds,
      alpn: upstreamAlpn(dep),
      sni: upstreamSni(dep),
      policy: opts.sds,
    }),
  });
}
