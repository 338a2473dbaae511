import { readTextFile } from '../../io/files.js';
import { BundleSet, X509Bundle } from '../../spiffe/bundle.js';
import { parseCertificatesPem } from '../../spiffe/pem.js';
import { TrustDomain } from '../../spiffe/trust-domain.js';
import { verifyX509Svid } from '../../spiffe/x509svid.js';
import { defineCommand, UsageError } from '../command.js';

/** Reads a bundle file in PEM or SPIFFE bundle JSON form (told apart by the first character). */
export function readBundleFile(trustDomain: TrustDomain, file: string): X509Bundle {
  const text = readTextFile(file, `the bundle of ${trustDomain.name}`);
  return text.trimStart().startsWith('{') ? X509Bundle.fromSpiffeJson(trustDomain, text) : X509Bundle.fromPem(trustDomain, text);
}

export const svidVerify = defineCommand({
  path: ['svid', 'verify'],
  summary: 'verify an X.509-SVID chain against the bundle of its own trust domain',
  usage: `Usage: trustplane svid verify --bundle TRUST_DOMAIN=FILE [--bundle ...] [--at TIME] CERT

CERT is a PEM file holding the chain, leaf first. Each --bundle names a trust domain and a bundle file
(PEM certificates or SPIFFE bundle JSON). The chain must verify to the bundle of the SVID's own trust domain.
Exit 0 and the SPIFFE ID when valid; exit 1 and the reason when not.
  --bundle TD=FILE   a trust bundle; repeatable
  --at TIME          verify as of this ISO-8601 time instead of now`,
  options: { bundle: { type: 'string', multiple: true }, at: { type: 'string' } },
  positionals: { min: 1, max: 1, names: 'the certificate chain file' },
  async run({ values, positionals, io }) {
    const specs = values.bundle ?? [];
    if (specs.length === 0) throw new UsageError('at least one --bundle TRUST_DOMAIN=FILE is required');
    const set = new BundleSet();
    for (const spec of specs) {
      const eq = spec.indexOf('=');
      if (eq <= 0) throw new UsageError(`--bundle "${spec}" is not TRUST_DOMAIN=FILE`);
      set.add(readBundleFile(TrustDomain.parse(spec.slice(0, eq)), spec.slice(eq + 1)));
    }
    const at = values.at ? new Date(values.at) : new Date();
    if (Number.isNaN(at.getTime())) throw new UsageError(`--at "${values.at}" is not an ISO-8601 time`);
    const file = positionals[0]!;
    const chain = parseCertificatesPem(readTextFile(file, 'the certificate chain'), file);
    const { spiffeId, verifiedChain } = verifyX509Svid(chain, set, at);
    io.stdout.write(`valid: ${spiffeId.toString()} (chain of ${verifiedChain.length} to the ${spiffeId.trustDomain.name} bundle)\n`);
    return 0;
  },
});
