// Where an identity's files live: one directory per SPIFFE ID, `<root>/<trust domain><path>`, holding
// spiffe-helper's file names. Pure, so the gRPC bootstrap names the very files the writer writes. SPIFFE ID
// paths have no "." or ".." segments and only [A-Za-z0-9._-] characters, so the directory cannot leave root.
import { posix } from 'node:path';
import { SpiffeId } from '../spiffe/id.js';

export const SVID_FILE = 'svid.pem';
export const SVID_KEY_FILE = 'svid_key.pem';
export const SVID_BUNDLE_FILE = 'svid_bundle.pem';

export interface SvidFilePaths {
  readonly dir: string;
  /** The X.509-SVID chain, leaf first. */
  readonly certificateFile: string;
  /** Its private key, PKCS#8 PEM, mode 0600. */
  readonly privateKeyFile: string;
  /** The trust bundle(s) to verify peers with. */
  readonly bundleFile: string;
}

export function svidFilePaths(root: string, spiffeId: SpiffeId | string): SvidFilePaths {
  const id = typeof spiffeId === 'string' ? SpiffeId.parse(spiffeId) : spiffeId;
  const dir = posix.join(root, id.trustDomain.name, id.path);
  return {
    dir,
    certificateFile: posix.join(dir, SVID_FILE),
    privateKeyFile: posix.join(dir, SVID_KEY_FILE),
    bundleFile: posix.join(dir, SVID_BUNDLE_FILE),
  };
}
