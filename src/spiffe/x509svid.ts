// X.509-SVID verification (X509-SVID spec §5): SPIFFE leaf rules, then RFC 5280 path building to the bundle
// of the SVID's OWN trust domain. Bundles are never pooled: with a pool, a CA of one trust domain could
// issue identities in another.
import type { X509Certificate } from 'node:crypto';
import * as x509 from './x509-lib.js';
import type { BundleSource } from './bundle.js';
import { SpiffeId, SpiffeIdError } from './id.js';
import { X509SvidError, type X509SvidErrorCode } from './x509svid-error.js';

export { X509SvidError, type X509SvidErrorCode } from './x509svid-error.js';

export interface VerifiedX509Svid {
  spiffeId: SpiffeId;
  /** Leaf, the intermediates used, then the bundle authority the path ends at. */
  verifiedChain: X509Certificate[];
}

/** Extensions this verifier understands; any other extension marked critical fails the certificate (RFC 5280 §4.2). */
const HANDLED_EXTENSIONS = new Set([
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.15', // keyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.19', // basicConstraints
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.37', // extKeyUsage (the spec lets leaves mark it critical; path validation does not restrict by it)
]);

interface Parsed {
  cert: X509Certificate;
  role: string;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
  pathLength: number | undefined;
  keyUsage: number | undefined;
  uris: string[];
  unhandledCritical: string[];
}

function parse(cert: X509Certificate, role: string): Parsed {
  try {
    const c = new x509.X509Certificate(cert.raw);
    const bc = c.getExtension(x509.BasicConstraintsExtension);
    const ku = c.getExtension(x509.KeyUsagesExtension);
    const uris = c
      .getExtensions(x509.SubjectAlternativeNameExtension)
      .flatMap((san) => san.names.items.filter((n) => n.type === 'url').map((n) => n.value));
    return {
      cert,
      role,
      notBefore: c.notBefore,
      notAfter: c.notAfter,
      ca: bc?.ca ?? false,
      pathLength: bc?.ca ? bc.pathLength : undefined,
      keyUsage: ku ? ku.usages : undefined,
      uris,
      unhandledCritical: c.extensions.filter((e) => e.critical && !HANDLED_EXTENSIONS.has(e.type)).map((e) => e.type),
    };
  } catch (cause) {
    const why = (cause as Error).message;
    throw new X509SvidError('MALFORMED_CERTIFICATE', `${role} ("${cert.subject}") cannot be parsed: ${why}`, { cause });
  }
}

function fail(code: X509SvidErrorCode, message: string): never {
  throw new X509SvidError(code, message);
}

function describe(p: Parsed): string {
  return `${p.role} ("${p.cert.subject.replace(/\n/g, ', ')}")`;
}

function leafSpiffeId(leaf: Parsed): SpiffeId {
  if (leaf.uris.length === 0) {
    fail('LEAF_NO_URI_SAN', `${describe(leaf)} has no URI SAN; an X.509-SVID carries its SPIFFE ID as exactly one`);
  }
  if (leaf.uris.length > 1) {
    const list = leaf.uris.map((u) => JSON.stringify(u)).join(', ');
    fail('LEAF_MULTIPLE_URI_SANS', `${describe(leaf)} has ${leaf.uris.length} URI SANs (${list}); exactly one is allowed`);
  }
  let id: SpiffeId;
  try {
    id = SpiffeId.parse(leaf.uris[0] ?? '');
  } catch (cause) {
    if (!(cause instanceof SpiffeIdError)) throw cause;
    throw new X509SvidError('LEAF_BAD_SPIFFE_ID', `${describe(leaf)} URI SAN is not a SPIFFE ID: ${cause.message}`, {
      cause,
    });
  }
  if (id.path === '') {
    fail('LEAF_ID_NO_PATH', `${describe(leaf)} SPIFFE ID "${id}" has no path; a leaf names a workload, not a trust domain`);
  }
  return id;
}

const KU = x509.KeyUsageFlags;

function checkLeaf(leaf: Parsed): void {
  if (leaf.ca) fail('LEAF_IS_CA', `${describe(leaf)} is a CA (basicConstraints cA=true); an SVID leaf must not be`);
  if (leaf.keyUsage === undefined || !(leaf.keyUsage & KU.digitalSignature)) {
    const why = leaf.keyUsage === undefined ? 'has no keyUsage extension' : 'keyUsage lacks digitalSignature';
    fail('LEAF_NO_DIGITAL_SIGNATURE', `${describe(leaf)} ${why}; an SVID leaf must have digitalSignature`);
  }
  if (leaf.keyUsage & KU.keyCertSign) fail('LEAF_KEY_CERT_SIGN', `${describe(leaf)} has keyUsage keyCertSign; a leaf must not`);
  if (leaf.keyUsage & KU.cRLSign) fail('LEAF_CRL_SIGN', `${describe(leaf)} has keyUsage cRLSign; an SVID leaf must not`);
  checkCritical(leaf);
}

function checkSigner(p: Parsed): void {
  if (!p.ca) fail('INTERMEDIATE_NOT_CA', `${describe(p)} signed the certificate below it but is not a CA (cA must be true)`);
  if (p.keyUsage === undefined || !(p.keyUsage & KU.keyCertSign)) {
    fail('INTERMEDIATE_NO_KEY_CERT_SIGN', `${describe(p)} signed the certificate below it but its keyUsage lacks keyCertSign`);
  }
  checkCritical(p);
}

function checkCritical(p: Parsed): void {
  if (p.unhandledCritical.length > 0) {
    const oids = p.unhandledCritical.join(', ');
    fail('UNHANDLED_CRITICAL_EXTENSION', `${describe(p)} has critical extension(s) ${oids} that this verifier does not process`);
  }
}

/** RFC 5280 name chaining plus the signature: did `issuer` sign `subject`? */
function signedBy(subject: X509Certificate, issuer: X509Certificate): boolean {
  if (subject.issuer !== issuer.subject) return false;
  try {
    return subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

export function verifyX509Svid(chain: readonly X509Certificate[], bundles: BundleSource, now: Date): VerifiedX509Svid {
  // An Invalid Date compares false with everything and would pass every validity window.
  if (Number.isNaN(now.getTime())) throw new TypeError('verifyX509Svid: now is an invalid Date');
  const first = chain[0];
  if (!first) fail('EMPTY_CHAIN', 'the certificate chain is empty; expected the leaf SVID first, then intermediates');
  const leaf = parse(first, 'leaf');
  const spiffeId = leafSpiffeId(leaf);
  checkLeaf(leaf);

  const td = spiffeId.trustDomain.name;
  const authorities = bundles.getBundle(td)?.x509Authorities ?? [];
  if (authorities.length === 0) {
    fail('NO_BUNDLE', `no X.509 bundle (or one without authorities) for trust domain "${td}" of ${spiffeId}`);
  }

  const path: Parsed[] = [leaf];
  const unused = chain.slice(1).map((cert, i) => ({ cert, role: `intermediate ${i + 1}` }));
  for (let current = leaf; ; ) {
    // The authority check comes first so that a root the peer also sent is treated as the trust anchor.
    // checkIssued adds OpenSSL's issuer checks (key identifiers, keyCertSign when keyUsage is present).
    const anchor = authorities.find((a) => current.cert.checkIssued(a) && signedBy(current.cert, a));
    if (anchor) {
      path.push(parse(anchor, `authority of ${td}`));
      break;
    }
    const next = unused.findIndex((u) => signedBy(current.cert, u.cert));
    const found = next >= 0 ? unused.splice(next, 1)[0] : undefined;
    if (!found) {
      const issuer = current.cert.issuer.replace(/\n/g, ', ');
      fail(
        'UNTRUSTED',
        `${describe(current)} was not issued by any authority in the bundle of trust domain "${td}" ` +
          `(issuer "${issuer}"); only the SVID's own trust domain is trusted`,
      );
    }
    const signer = parse(found.cert, found.role);
    checkSigner(signer);
    path.push(signer);
    current = signer;
  }

  checkPathLengths(path);
  for (const p of path) {
    const at = `(now ${now.toISOString()})`;
    if (now < p.notBefore) fail('NOT_YET_VALID', `${describe(p)} is not valid before ${p.notBefore.toISOString()} ${at}`);
    if (now > p.notAfter) fail('EXPIRED', `${describe(p)} expired at ${p.notAfter.toISOString()} ${at}`);
  }
  return { spiffeId, verifiedChain: path.map((p) => p.cert) };
}

/** pathLenConstraint: how many intermediates may follow a CA below it (self-issued ones excepted). */
function checkPathLengths(path: readonly Parsed[]): void {
  for (let k = 1; k < path.length; k++) {
    const ca = path[k];
    if (!ca || ca.pathLength === undefined) continue;
    const below = path.slice(1, k).filter((p) => p.cert.subject !== p.cert.issuer).length;
    if (below > ca.pathLength) {
      const allowed = `${ca.pathLength} intermediate(s) below it (pathLenConstraint)`;
      fail('PATH_LENGTH_EXCEEDED', `${describe(ca)} allows ${allowed} but the chain has ${below}`);
    }
  }
}
