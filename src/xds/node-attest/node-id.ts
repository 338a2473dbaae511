// A node's SPIFFE ID is spiffe://<trust-domain>/trustplane/node/<name>. The name is what the mesh description
// grants identities to, so it must survive a round trip through a URI path and a file name unchanged.
import { TrustplaneError } from '../../errors.js';

const NODE_PREFIX = '/trustplane/node/';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class NodeNameError extends TrustplaneError {}

export function isNodeName(name: string): boolean {
  return NAME.test(name);
}

export function assertNodeName(name: string): string {
  if (!isNodeName(name)) {
    throw new NodeNameError(
      'NODE_NAME_INVALID',
      `node name ${JSON.stringify(name)} is not valid: accepted are 1-128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit`,
    );
  }
  return name;
}

/** spiffe://<trustDomain>/trustplane/node/<name> */
export function nodeSpiffeId(trustDomain: string, name: string): string {
  return `spiffe://${trustDomain}${NODE_PREFIX}${assertNodeName(name)}`;
}

/** The node name of a SPIFFE ID path, or undefined when the path is not a node path. */
export function nodeNameFromPath(path: string): string | undefined {
  if (!path.startsWith(NODE_PREFIX)) return undefined;
  const name = path.slice(NODE_PREFIX.length);
  return isNodeName(name) ? name : undefined;
}
