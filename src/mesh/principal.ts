// Node principals name who may receive an identity over SDS; the xDS server authenticates each stream as one.
import type { NodePrincipal } from './model.js';

const MAX_UID = 4294967294; // (uid_t)-1 is "no uid" on Linux, never a caller
const NODE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;

export const PRINCIPAL_PATTERN = '^(uid:[0-9]+|node:[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?)$';
export const PRINCIPAL_ACCEPTED = `uid:<n> (Unix-socket peer uid, 0–${MAX_UID}) or node:<name> (letters, digits, '.', '_', '-')`;

/** Parses `uid:1001` or `node:orders-1`; returns the reason on failure rather than throwing. */
export function parsePrincipal(s: string): { principal: NodePrincipal } | { reason: string } {
  const colon = s.indexOf(':');
  const kind = colon < 0 ? '' : s.slice(0, colon);
  const rest = s.slice(colon + 1);
  if (kind === 'uid') {
    if (!/^[0-9]+$/.test(rest)) return { reason: 'a uid is a decimal number' };
    const uid = Number(rest);
    if (uid > MAX_UID) return { reason: `uid ${rest} is above ${MAX_UID}` };
    return { principal: { kind: 'uid', uid } };
  }
  if (kind === 'node') {
    if (!NODE_NAME.test(rest)) return { reason: 'a node name is letters, digits, ".", "_" and "-", starting and ending with a letter or digit' };
    return { principal: { kind: 'node', name: rest } };
  }
  return { reason: 'a principal starts with "uid:" or "node:"' };
}

export function principalToString(p: NodePrincipal): string {
  return p.kind === 'uid' ? `uid:${p.uid}` : `node:${p.name}`;
}

export function samePrincipal(a: NodePrincipal, b: NodePrincipal): boolean {
  return a.kind === 'uid' ? b.kind === 'uid' && a.uid === b.uid : b.kind === 'node' && a.name === b.name;
}
