// /federation on the admin endpoint and `trustplane federation status`: the bundle endpoint this control plane
// serves, and per federated trust domain where its bundle comes from, what it holds and how refreshing goes.
// Bundles are public material; nothing here names a proxy or carries a key.
import type { BundleEndpointServer } from './endpoint-server.js';
import type { FederatedDomainStatus, Federation } from './federation.js';

export interface FederationDocument {
  readonly trustDomain: string;
  readonly bundleEndpoint?: { readonly address: string; readonly profile: string; readonly sequence?: number; readonly refreshHintSeconds?: number };
  readonly domains: readonly FederatedDomainStatus[];
}

export function federationDocument(trustDomain: string, endpoint: BundleEndpointServer | undefined, federation: Federation): FederationDocument {
  const p = endpoint?.publication;
  return {
    trustDomain,
    ...(endpoint
      ? { bundleEndpoint: { address: endpoint.address, profile: endpoint.profile, ...(p ? { sequence: p.sequence, refreshHintSeconds: p.refreshHintSeconds } : {}) } }
      : {}),
    domains: federation.status(),
  };
}

/** The table `trustplane federation status` prints. */
export function renderFederation(doc: FederationDocument, now: number): string {
  const lines: string[] = [];
  const e = doc.bundleEndpoint;
  lines.push(`trust domain ${doc.trustDomain}: bundle endpoint ${e ? `https://${e.address}/ (${e.profile}, sequence ${e.sequence ?? '-'}, refresh hint ${e.refreshHintSeconds ?? '-'} s)` : 'not served'}`);
  if (doc.domains.length === 0) {
    lines.push('no federated trust domains');
    return `${lines.join('\n')}\n`;
  }
  const ago = (iso: string | undefined): string => {
    if (!iso) return '-';
    const s = Math.round((now - Date.parse(iso)) / 1000);
    return s >= 0 ? `${iso} (${s}s ago)` : `${iso} (in ${-s}s)`;
  };
  for (const d of doc.domains) {
    lines.push('');
    lines.push(`${d.trustDomain}  (${d.source === 'endpoint' ? `endpoint ${d.endpoint?.url} ${d.endpoint?.profile}${d.endpoint?.endpointSpiffeId ? ` ${d.endpoint.endpointSpiffeId}` : ''}` : `file ${d.bundleFile ?? '-'}`})`);
    lines.push(`  sequence        ${d.sequence ?? '-'}`);
    lines.push(`  authorities     ${d.authorities.length}`);
    for (const a of d.authorities) lines.push(`    ${a.subject}  not after ${a.notAfter}  sha256 ${a.sha256.slice(0, 23)}…`);
    if (d.endpoint) {
      lines.push(`  held from       ${d.endpoint.heldFrom ?? 'nothing yet'}`);
      lines.push(`  last refresh    ${ago(d.endpoint.lastRefresh)}`);
      lines.push(`  next refresh    ${ago(d.endpoint.nextRefresh)}  (interval ${d.endpoint.refreshIntervalSeconds}s)`);
      lines.push(`  last error      ${d.endpoint.lastError ? `${d.endpoint.lastError.reason} at ${d.endpoint.lastError.at}: ${d.endpoint.lastError.message}` : '-'}`);
      if (d.endpoint.consecutiveFailures) lines.push(`  failures        ${d.endpoint.consecutiveFailures} in a row`);
    }
  }
  return `${lines.join('\n')}\n`;
}
