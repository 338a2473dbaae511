import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../ca/atomic-file.js';
import { CertificateAuthority } from '../../ca/certificate-authority.js';
import { SpiffeId } from '../../spiffe/id.js';
import { certificatesToPem } from '../../spiffe/pem.js';
import { fileError } from '../../io/fs-errors.js';
import { makePrivateDir } from '../../io/files.js';
import { defineCommand, UsageError } from '../command.js';
import { dataDir, dataDirOption, parseDuration } from './common.js';

export const svidMint = defineCommand({
  path: ['svid', 'mint'],
  summary: 'mint an X.509-SVID with the embedded CA and write svid.pem, svid_key.pem, bundle.pem',
  usage: `Usage: trustplane svid mint --spiffe-id ID --out DIR [--ttl 1h] [--data-dir DIR]

Opens (or creates) the embedded CA of the ID's trust domain in the data directory and writes, like spiffe-helper:
  DIR/svid.pem      the certificate chain, leaf first
  DIR/svid_key.pem  its private key (PKCS#8, mode 0600)
  DIR/bundle.pem    the trust bundle of the trust domain
  --spiffe-id ID    the SPIFFE ID to mint for
  --out DIR         where to write the files (created 0700 if missing)
  --ttl DURATION    lifetime (default 1h; never beyond the CA's own)
  --data-dir DIR    the control plane's data directory (default ./.trustplane)`,
  options: { 'spiffe-id': { type: 'string' }, out: { type: 'string' }, ttl: { type: 'string' }, ...dataDirOption },
  async run({ values, io }) {
    if (!values['spiffe-id']) throw new UsageError('--spiffe-id is required');
    if (!values.out) throw new UsageError('--out is required');
    const id = SpiffeId.parse(values['spiffe-id']);
    const ttl = values.ttl ? { ttlMs: parseDuration(values.ttl, '--ttl') } : {};
    // The output directory first: a path that cannot hold the files must not leave a CA created behind.
    const out = resolve(values.out);
    makePrivateDir(out, 'the output directory');
    const ca = CertificateAuthority.open({ trustDomain: id.trustDomain, dataDir: dataDir(values['data-dir']), logger: io.logger() });
    try {
      const svid = ca.mintX509Svid(id, ttl);
      const write = (file: string, data: string, mode: number): void => {
        try {
          writeFileAtomic(join(out, file), data, mode);
        } catch (err) {
          throw fileError(err, 'cannot write', join(out, file));
        }
      };
      write('svid_key.pem', svid.privateKeyPem, 0o600);
      write('svid.pem', certificatesToPem(svid.chain), 0o644);
      write('bundle.pem', ca.bundle().toPem(), 0o644);
      io.stdout.write(`minted ${id.toString()} serial ${svid.serial}, valid until ${svid.notAfter.toISOString()}\nwrote ${join(out, 'svid.pem')}, ${join(out, 'svid_key.pem')} (0600), ${join(out, 'bundle.pem')}\n`);
      return 0;
    } finally {
      ca.close();
    }
  },
});
