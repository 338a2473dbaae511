// Whether a fetched document may replace the bundle held for a trust domain. Pure. Refused:
// - anything the SPIFFE bundle format's checks refuse (Trust Domain and Bundle §4; src/spiffe/bundle-json.ts);
// - a bundle with no X.509 authority, or one whose authority is not a CA certificate;
// - a document for another trust domain: an authority whose SPIFFE ID names another trust domain (CA certificates
//   carry spiffe://<trust-domain>), or, for a self-serving https_spiffe endpoint, a bundle that does not
//   authenticate the very SVID the endpoint presented (§5.2.2.4: the next fetch is verified with it);
// - a lower spiffe_sequence than the one last fetched, or the same sequence with other contents. A bundle the operator
//   put in place (the bootstrap bundleFile) is the latest only "until replaced by a subsequent refresh" (SPIFFE
//   Federation §4.2), so its sequence does not hold the endpoint back.
import type { X509Certificate } from 'node:crypto';
import { BundleError, BundleSet, X509Bundle } from '../spiffe/bundle.js';
import type { TrustDomain } from '../spiffe/trust-domain.js';
import { verifyX509Svid } from '../spiffe/x509svid.js';
import { FederationError } from './errors.js';

export interface Accepted {
  readonly bundle: X509Bundle;
  /** False when the document holds exactly what is held already. */
  readonly changed: boolean;
}

export function sameAuthorities(a: X509Bundle, b: X509Bundle): boolean {
  const keys = new Set(a.x509Authorities.map((c) => c.fingerprint256));
  return a.x509Authorities.length === b.x509Authorities.length && b.x509Authorities.every((c) => keys.has(c.fingerprint256));
}

function spiffeUris(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:spiffe://'))
    .map((s) => s.slice(4));
}

export function acceptBundle(
  td: TrustDomain,
  body: string,
  held: X509Bundle | undefined,
  opts: { readonly from: string; readonly now: Date; readonly selfServingChain?: readonly X509Certificate[]; readonly heldIsLocal?: boolean },
): Accepted {
  let bundle: X509Bundle;
  try {
    bundle = X509Bundle.fromSpiffeJson(td, body);
  } catch (err) {
    if (err instanceof BundleError) throw new FederationError(err.code === 'NOT_JSON' ? 'malformed_json' : 'invalid_bundle', `${opts.from}: ${err.message}`);
    throw err;
  }
  if (bundle.x509Authorities.length === 0) throw new FederationError('no_authorities', `${opts.from}: the bundle for ${td.name} holds no x509-svid authority`);
  for (const [i, cert] of bundle.x509Authorities.entries()) {
    if (!cert.ca) throw new FederationError('invalid_bundle', `${opts.from}: authority ${i} ("${cert.subject.replace(/\n/g, ', ')}") is not a CA certificate`);
    const other = spiffeUris(cert).find((u) => u.slice('spiffe://'.length).split('/')[0] !== td.name);
    if (other) throw new FederationError('wrong_trust_domain', `${opts.from}: authority ${i} belongs to ${other}, not to trust domain ${td.name}`);
  }
  if (opts.selfServingChain) {
    try {
      verifyX509Svid(opts.selfServingChain, new BundleSet([bundle]), opts.now);
    } catch (err) {
      throw new FederationError('wrong_trust_domain', `${opts.from}: the bundle does not authenticate the endpoint's own SVID, so it is not ${td.name}'s bundle (${(err as Error).message})`);
    }
  }
  const changed = !held || !sameAuthorities(held, bundle);
  if (!opts.heldIsLocal && held?.sequence !== undefined && bundle.sequence !== undefined) {
    if (bundle.sequence < held.sequence) {
      throw new FederationError('sequence_regression', `${opts.from}: spiffe_sequence ${bundle.sequence} is lower than the ${held.sequence} held for ${td.name}`);
    }
    if (bundle.sequence === held.sequence && changed) {
      throw new FederationError('sequence_regression', `${opts.from}: spiffe_sequence ${bundle.sequence} is the one held for ${td.name}, but the authorities differ`);
    }
  }
  return { bundle, changed: changed || bundle.sequence !== held?.sequence };
}
