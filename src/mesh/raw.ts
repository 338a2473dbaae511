// The shape checkStructure() returns: the schema's fields, each possibly missing because it was invalid
// (the problem is already reported), with formatted strings parsed. Only resolve.ts reads these.
import type { SpiffeId } from '../spiffe/id.js';
import type { TrustDomain } from '../spiffe/trust-domain.js';
import type { BundleEndpointProfile, BundleFormat, Mode, NodePrincipal, Protocol, Target } from './model.js';

type List<T> = readonly (T | undefined)[];

export interface RawMesh {
  trustDomain?: TrustDomain;
  defaultMode?: Mode;
  accessLogs?: boolean;
  federation?: List<RawFederation>;
  services?: List<RawService>;
}

export interface RawFederation {
  trustDomain?: TrustDomain;
  bundleFile?: string;
  format?: BundleFormat;
  bundleEndpoint?: { url?: string; profile?: BundleEndpointProfile; endpointSpiffeId?: SpiffeId };
}

export interface RawService {
  name?: string;
  spiffeId?: SpiffeId;
  address?: string;
  target?: Target;
  nodes?: List<NodePrincipal>;
  mode?: Mode;
  force?: boolean;
  gateway?: RawGateway;
  inbound?: List<RawInbound>;
  outbound?: List<RawOutbound>;
  allowedCallers?: List<RawCaller>;
}

export interface RawInbound {
  port?: number;
  appPort?: number;
  appAddress?: string;
  listenAddress?: string;
  protocol?: Protocol;
  mode?: Mode;
  force?: boolean;
  requireJwt?: { audiences?: List<string> };
}

export type RawOutbound =
  | { kind: 'service'; service?: string; port?: number; listenPort?: number }
  | {
      kind: 'name';
      name?: string;
      address?: string;
      endpoints?: List<{ address?: string; port?: number }>;
      port?: number;
      protocol?: Protocol;
      spiffeIds?: List<SpiffeId>;
      mode?: Mode;
      listenPort?: number;
      istio?: RawIstio;
      sni?: string;
      alpn?: List<string>;
    };

export interface RawIstio {
  host?: string;
  port?: number;
  namespace?: string;
  serviceAccount?: string;
  trustDomain?: TrustDomain;
}

export interface RawGateway {
  listeners?: List<RawGatewayListener>;
  routes?: List<RawGatewayRoute>;
}

export interface RawGatewayListener {
  port?: number;
  hosts?: List<string>;
  tls?: {
    certificateFile?: string;
    privateKeyFile?: string;
    clientCaFile?: string;
    requireClientCertificate?: boolean;
  };
}

export interface RawGatewayRoute {
  host?: string;
  pathPrefix?: string;
  dependency?: string;
}

export type RawCaller =
  | { kind: 'spiffeId'; spiffeId?: SpiffeId }
  | { kind: 'service'; service?: string }
  | { kind: 'trustDomain'; trustDomain?: TrustDomain };
