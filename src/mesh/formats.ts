// String formats of the description. Each one carries its JSON Schema pattern (for editors) next to the check
// the validator runs, so the two cannot drift apart.
import { isIP } from 'node:net';
import { SpiffeId } from '../spiffe/id.js';
import { TrustDomain } from '../spiffe/trust-domain.js';
import { parsePrincipal, PRINCIPAL_ACCEPTED, PRINCIPAL_PATTERN } from './principal.js';
import { BUNDLE_ENDPOINT_URL_ACCEPTED, BUNDLE_ENDPOINT_URL_PATTERN, parseBundleEndpointUrl } from '../federation/endpoint-url.js';
import type { MeshProblemCode } from './problems.js';

export type FormatName = 'spiffeId' | 'trustDomain' | 'principal' | 'name' | 'address' | 'ip' | 'host' | 'pathPrefix' | 'absolutePath' | 'k8sName' | 'sni' | 'alpn' | 'bundleEndpointUrl';

export interface Format {
  readonly code: MeshProblemCode;
  /** What the value is, for messages: `not a valid ${what}`. */
  readonly what: string;
  readonly accepted: string;
  readonly pattern: string;
  /** The parsed value, or why the string is not one. */
  parse(s: string): { value: unknown } | { reason: string };
}

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const LOWER_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function isHostName(s: string): boolean {
  const labels = s.endsWith('.') ? s.slice(0, -1).split('.') : s.split('.');
  return s.length <= 253 && labels.every((l) => HOST_LABEL.test(l));
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export const FORMATS: Readonly<Record<FormatName, Format>> = {
  spiffeId: {
    code: 'INVALID_SPIFFE_ID',
    what: 'SPIFFE ID',
    accepted: 'spiffe://<trust-domain>/<path>, e.g. spiffe://example.org/ns/default/sa/web',
    pattern: '^spiffe://[a-z0-9._-]+(/[A-Za-z0-9._-]+)*$',
    parse(s) {
      try {
        return { value: SpiffeId.parse(s) };
      } catch (err) {
        return { reason: reasonOf(err) };
      }
    },
  },
  trustDomain: {
    code: 'INVALID_TRUST_DOMAIN',
    what: 'trust domain',
    accepted: 'a trust domain name such as example.org (lowercase letters, digits, ".", "-", "_")',
    pattern: '^(spiffe://)?[a-z0-9._-]+$',
    parse(s) {
      try {
        return { value: TrustDomain.parse(s) };
      } catch (err) {
        return { reason: reasonOf(err) };
      }
    },
  },
  principal: {
    code: 'INVALID_PRINCIPAL',
    what: 'node principal',
    accepted: PRINCIPAL_ACCEPTED,
    pattern: PRINCIPAL_PATTERN,
    parse(s) {
      const r = parsePrincipal(s);
      return 'principal' in r ? { value: r.principal } : r;
    },
  },
  name: {
    code: 'INVALID_NAME',
    what: 'name',
    accepted: 'a DNS label: 1–63 lowercase letters, digits and "-", starting and ending with a letter or digit',
    pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$',
    parse(s) {
      return DNS_LABEL.test(s) ? { value: s } : { reason: 'names are used in Envoy cluster and listener names' };
    },
  },
  address: {
    code: 'INVALID_ADDRESS',
    what: 'address',
    accepted: 'a host name (e.g. payments.internal) or an IPv4/IPv6 address',
    pattern: '^[A-Za-z0-9.:-]+$',
    parse(s) {
      if (isIP(s) !== 0) return { value: s };
      if (isHostName(s)) return { value: s };
      return { reason: 'not a host name or IP address' };
    },
  },
  // An address a process binds: a host name would leave the choice of interface to the resolver.
  ip: {
    code: 'INVALID_ADDRESS',
    what: 'IP address',
    accepted: 'an IPv4 or IPv6 address (e.g. 127.0.0.1, 10.0.1.10, 0.0.0.0, ::)',
    pattern: '^[0-9A-Fa-f.:]+$',
    parse(s) {
      return isIP(s) !== 0 ? { value: s } : { reason: 'not an IPv4 or IPv6 address' };
    },
  },
  // Virtual-host domains and TLS server names of an edge gateway: what a browser puts in SNI and Host. Lower
  // case only, because Envoy compares server_names byte for byte.
  host: {
    code: 'INVALID_HOST',
    what: 'host',
    accepted: 'a lower-case DNS name (e.g. shop.example.com), or one with a leading wildcard label (*.example.com)',
    pattern: '^(\\*\\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$',
    parse(s) {
      const name = s.startsWith('*.') ? s.slice(2) : s;
      const labels = name.split('.');
      if (labels.length < 2) return { reason: 'a host has at least two labels' };
      if (name.length > 253 || !labels.every((l) => LOWER_LABEL.test(l))) return { reason: 'not a lower-case DNS name; a wildcard is only allowed as the whole first label' };
      return { value: s };
    },
  },
  bundleEndpointUrl: {
    code: 'INVALID_BUNDLE_ENDPOINT_URL',
    what: 'bundle endpoint URL',
    accepted: BUNDLE_ENDPOINT_URL_ACCEPTED,
    pattern: BUNDLE_ENDPOINT_URL_PATTERN,
    parse(s) {
      const r = parseBundleEndpointUrl(s);
      return 'url' in r ? { value: r.url.toString() } : r;
    },
  },
  pathPrefix: {
    code: 'INVALID_PATH_PREFIX',
    what: 'path prefix',
    accepted: 'a URL path starting with "/" (e.g. /api/), without query, fragment, spaces, "." or ".." segments',
    pattern: '^/[A-Za-z0-9._~!$&\'()*+,;=:@%/-]*$',
    parse(s) {
      if (!s.startsWith('/')) return { reason: 'a path prefix starts with "/"' };
      if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(s)) return { reason: 'a path prefix has no query ("?"), fragment ("#"), spaces or other characters outside a URL path' };
      // Envoy normalizes request paths before matching (normalize_path), so such a prefix could never match.
      if (s.split('/').some((seg) => seg === '.' || seg === '..')) return { reason: 'a path prefix has no "." or ".." segments' };
      return { value: s };
    },
  },
  absolutePath: {
    code: 'INVALID_PATH',
    what: 'file path',
    accepted: 'an absolute file path on the proxy\'s host, e.g. /etc/gateway/tls/shop/tls.crt',
    pattern: '^/.*[^/]$',
    parse(s) {
      if (!s.startsWith('/')) return { reason: 'Envoy resolves relative paths against its working directory; give an absolute path' };
      if (s.endsWith('/')) return { reason: 'a file path does not end with "/"' };
      if (s.includes('\0')) return { reason: 'a file path has no NUL character' };
      return { value: s };
    },
  },
  k8sName: {
    code: 'INVALID_NAME',
    what: 'Kubernetes name',
    accepted: 'a DNS subdomain: lower-case letters, digits, "-" and ".", at most 253 characters',
    pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$',
    parse(s) {
      return s.length <= 253 && s.split('.').every((l) => LOWER_LABEL.test(l)) ? { value: s } : { reason: 'Istio builds the SPIFFE ID from it: spiffe://<td>/ns/<namespace>/sa/<serviceAccount>' };
    },
  },
  // SNI as mesh gateways route by it (Istio: outbound_.9080_._.reviews.bookinfo.svc.cluster.local): a host-like
  // name that may hold "_", which host names may not.
  sni: {
    code: 'INVALID_SNI',
    what: 'server name',
    accepted: 'letters, digits, ".", "-" and "_", at most 255 characters, not an IP address',
    pattern: '^[A-Za-z0-9._-]{1,255}$',
    parse(s) {
      if (!/^[A-Za-z0-9._-]{1,255}$/.test(s)) return { reason: 'a server name is letters, digits, ".", "-" and "_"' };
      if (isIP(s) !== 0) return { reason: 'TLS forbids an IP address as server name (RFC 6066)' };
      return { value: s };
    },
  },
  alpn: {
    code: 'INVALID_ALPN',
    what: 'ALPN protocol',
    accepted: 'a printable ASCII protocol ID of 1–255 characters, e.g. h2, istio-peer-exchange',
    pattern: '^[!-~]{1,255}$',
    parse(s) {
      return /^[!-~]{1,255}$/.test(s) ? { value: s } : { reason: 'an ALPN protocol ID is printable ASCII without spaces' };
    },
  },
};
