// String formats of the description. Each one carries its JSON Schema pattern (for editors) next to the check
// the validator runs, so the two cannot drift apart.
import { isIP } from 'node:net';
import { SpiffeId } from '../spiffe/id.js';
import { TrustDomain } from '../spiffe/trust-domain.js';
import { parsePrincipal, PRINCIPAL_ACCEPTED, PRINCIPAL_PATTERN } from './principal.js';
import type { MeshProblemCode } from './problems.js';

export type FormatName = 'spiffeId' | 'trustDomain' | 'principal' | 'name' | 'address';

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
      const labels = s.endsWith('.') ? s.slice(0, -1).split('.') : s.split('.');
      if (s.length <= 253 && labels.every((l) => HOST_LABEL.test(l))) return { value: s };
      return { reason: 'not a host name or IP address' };
    },
  },
};
