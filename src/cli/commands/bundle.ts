import { CertificateAuthority } from '../../ca/certificate-authority.js';
import { previewPublication } from '../../federation/published-bundle.js';
import { TrustDomain } from '../../spiffe/trust-domain.js';
import { defineCommand, UsageError } from '../command.js';
import { dataDir, dataDirOption, meshFile, meshOption, readMesh } from './common.js';

export const bundleShow = defineCommand({
  path: ['bundle', 'show'],
  summary: "print the embedded CA's trust bundle (PEM or SPIFFE bundle JSON)",
  usage: `Usage: trustplane bundle show [--format pem|spiffe] [--trust-domain TD | --mesh FILE] [--data-dir DIR]

Prints every CA certificate currently published for the trust domain: during a CA rotation that is the
prepared, active and old CAs, which is what peers must trust. With --format spiffe it prints byte for byte what
\`trustplane serve --bundle-endpoint\` on the same data directory serves (spiffe_sequence, spiffe_refresh_hint).
  --format pem|spiffe   PEM certificates (default) or the SPIFFE bundle document (JWK set, use x509-svid)
  --trust-domain TD     the trust domain (default: the mesh description's)
  --mesh FILE           mesh description to take the trust domain from (default examples/mesh.yaml)
  --data-dir DIR        the control plane's data directory (default ./.trustplane)`,
  options: { format: { type: 'string' }, 'trust-domain': { type: 'string' }, ...meshOption, ...dataDirOption },
  async run({ values, io }) {
    const format = values.format ?? 'pem';
    if (format !== 'pem' && format !== 'spiffe') throw new UsageError(`--format "${format}" is not one of pem, spiffe`);
    const td = values['trust-domain'] ? TrustDomain.parse(values['trust-domain']) : readMesh(meshFile(values.mesh)).trustDomain;
    const ca = CertificateAuthority.open({ trustDomain: td, dataDir: dataDir(values['data-dir']), logger: io.logger() });
    try {
      const bundle = ca.bundle();
      io.stdout.write(format === 'pem' ? bundle.toPem() : previewPublication(dataDir(values['data-dir']), bundle).body);
      return 0;
    } finally {
      ca.close();
    }
  },
});
