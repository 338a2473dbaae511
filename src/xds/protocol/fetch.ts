// FetchSecrets: one-shot SDS. Same names, same authorization as the streams; no nonce, no subscription.
import { create } from '@bufbuild/protobuf';
import { NodeSchema } from '#gen/envoy/config/core/v3/base_pb';
import type { DiscoveryRequest } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { encodeDiscoveryResponse } from '../codec.js';
import { shown } from '../server/limits.js';
import type { XdsLogger, XdsMetrics } from '../server/observability.js';
import type { NodePrincipal } from '../principal.js';
import { principalToString } from '../principal.js';
import type { ResolvedResource, ResourceResolver } from './resolution.js';
import { sotwVersion } from './sotw.js';
import { spiffeCertValidationDisabled } from './stream.js';
import { TYPE_SECRET } from '../type-urls.js';

export function fetchSecrets(
  req: DiscoveryRequest,
  principal: NodePrincipal,
  resolver: ResourceResolver,
  logger: XdsLogger,
  metrics: XdsMetrics,
): Uint8Array {
  const node = req.node ?? create(NodeSchema);
  const ctx = { principal, node, group: node.cluster, spiffeCertValidation: !spiffeCertValidationDisabled(node) };
  const found: ResolvedResource[] = [];
  const leftOut = { denied: 0, unknown: 0 };
  const sample: { name: string; reason: string }[] = [];
  for (const name of [...new Set(req.resourceNames)].sort()) {
    const res = resolver.resolve(ctx, TYPE_SECRET, name);
    if (res.kind === 'found') found.push(res.resource);
    else if (res.kind !== 'missing') {
      leftOut[res.kind === 'denied' ? 'denied' : 'unknown']++;
      if (sample.length < 5) sample.push({ name: shown(name), reason: shown(res.reason, 256) });
    }
  }
  // One line per request, however many names were left out.
  if (sample.length) {
    if (leftOut.denied) metrics.nameRejected?.('Secret', 'denied', leftOut.denied);
    if (leftOut.unknown) metrics.nameRejected?.('Secret', 'unknown', leftOut.unknown);
    logger.warn({ node: shown(node.id), principal: principalToString(principal), leftOut, sample }, `FetchSecrets: ${leftOut.denied + leftOut.unknown} requested Secret names left out`);
  }
  return encodeDiscoveryResponse({
    versionInfo: sotwVersion(found),
    resources: found.map((r) => r.any),
    typeUrl: TYPE_SECRET,
    nonce: '',
  });
}
