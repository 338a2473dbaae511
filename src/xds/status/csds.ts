// Client Status Discovery Service answers from the proxy status: which proxies are connected and, per type and
// name, what they were sent and whether they accepted it. Resource contents are never included (a secret
// carries a private key); CSDS tools only need versions and states.
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { ClientResourceStatus } from '#gen/envoy/admin/v3/config_dump_shared_pb';
import type { StringMatcher } from '#gen/envoy/type/matcher/v3/string_pb';
import {
  ClientConfig_GenericXdsConfigSchema,
  ClientConfigSchema,
  ClientStatusResponseSchema,
  ConfigStatus,
  type ClientStatusRequest,
  type ClientStatusResponse,
} from '#gen/envoy/service/status/v3/csds_pb';
import { TrustplaneError } from '../../errors.js';
import type { ProxyStatus, ProxyStatusSnapshot, ResourceStatus } from './proxy-status.js';

export class CsdsRequestError extends TrustplaneError {}

function matches(m: StringMatcher, value: string): boolean {
  const fold = (s: string): string => (m.ignoreCase ? s.toLowerCase() : s);
  const v = fold(value);
  const p = m.matchPattern;
  switch (p.case) {
    case 'exact':
      return v === fold(p.value);
    case 'prefix':
      return v.startsWith(fold(p.value));
    case 'suffix':
      return v.endsWith(fold(p.value));
    case 'contains':
      return v.includes(fold(p.value));
    default:
      return false;
  }
}

/**
 * Envoy evaluates safe_regex with RE2 (linear time); a JavaScript RegExp built from a caller's pattern can
 * backtrack for ever and block the server, so such matchers are refused rather than approximated.
 */
function check(req: ClientStatusRequest): void {
  req.nodeMatchers.forEach((nm, i) => {
    const c = nm.nodeId?.matchPattern.case;
    if (c !== undefined && c !== 'exact' && c !== 'prefix' && c !== 'suffix' && c !== 'contains') {
      throw new CsdsRequestError('CSDS_MATCHER_UNSUPPORTED', `node_matchers[${i}].node_id: ${c} is not supported; use exact, prefix, suffix or contains`);
    }
  });
}

/** Node matchers select by node id; metadata matchers are not evaluated (the status keeps no metadata). */
function selected(req: ClientStatusRequest, p: ProxyStatus): boolean {
  if (req.nodeMatchers.length === 0) return true;
  return req.nodeMatchers.some((nm) => !nm.nodeId || matches(nm.nodeId, p.nodeId));
}

function statuses(r: ResourceStatus): { config: ConfigStatus; client: ClientResourceStatus } {
  switch (r.state) {
    case 'ACKED':
      return { config: ConfigStatus.SYNCED, client: ClientResourceStatus.ACKED };
    case 'NACKED':
      return { config: ConfigStatus.ERROR, client: ClientResourceStatus.NACKED };
    case 'SENT':
      return { config: ConfigStatus.STALE, client: ClientResourceStatus.REQUESTED };
    default:
      return { config: ConfigStatus.NOT_SENT, client: ClientResourceStatus.DOES_NOT_EXIST };
  }
}

const ms = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso));

/**
 * The status of the proxies in the snapshot that the request selects; `visible` limits it to what the caller may
 * see. Throws CsdsRequestError for a request it cannot answer faithfully.
 */
export function clientStatusResponse(snapshot: ProxyStatusSnapshot, req: ClientStatusRequest, visible: (p: ProxyStatus) => boolean = () => true): ClientStatusResponse {
  check(req);
  return create(ClientStatusResponseSchema, {
    config: snapshot.proxies
      .filter((p) => visible(p) && selected(req, p))
      .map((p) =>
        create(ClientConfigSchema, {
          node: { id: p.nodeId, cluster: p.cluster },
          clientScope: `${p.service}/${p.variant}/${p.streamId}`,
          genericXdsConfigs: p.types.flatMap((t) =>
            t.resources.map((r) => {
              const s = statuses(r);
              const updated = ms(r.answeredAt ?? r.sentAt);
              return create(ClientConfig_GenericXdsConfigSchema, {
                typeUrl: t.typeUrl,
                name: r.name,
                versionInfo: r.version ?? '',
                configStatus: s.config,
                clientStatus: s.client,
                ...(updated !== undefined ? { lastUpdated: timestampFromMs(updated) } : {}),
                ...(r.error !== undefined
                  ? { errorState: { details: r.error, ...(updated !== undefined ? { lastUpdateAttempt: timestampFromMs(updated) } : {}) } }
                  : {}),
              });
            }),
          ),
        }),
      ),
  });
}
