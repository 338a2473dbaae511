// FetchSecrets: one-shot SDS. Same names, same authorization as the streams; no nonce, no subscription.
import { create } from '@bufbuild/protobuf';
import { NodeSchema } from '#gen/envoy/config/core/v3/base_pb';
import type { DiscoveryRequest } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { encodeDiscoveryResponse } from './codec.js';
import type { XdsLogger, XdsMetrics } from './observability.js';
import type { NodePrincipal } from './principal.js';
import { principalToString } from './principal.js';
import type { ResolvedResource, ResourceResolver } from './resolution.js';
import { sotwVersion } from './sotw-stream.js';
import { spiffeCertValidationDisabled } from './stream-base.js';
import { TYPE_SECRET } from './type-urls.js';

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
  for (const name of [...new Set(req.resourceNames)].sort()) {
    const res = resolver.resolve(ctx, TYPE_SECRET, name);
    if (res.kind === 'found') found.push(res.resource);
    else if (res.kind !== 'missing') {
      metrics.nameRejected?.('Secret', res.kind === 'denied' ? 'denied' : 'unknown');
      logger.warn({ node: node.id, principal: principalToString(principal), name, reason: res.reason }, 'FetchSecrets: requested Secret left out');
    }
  }
  return encodeDiscoveryResponse({
    versionInfo: sotwVersion(found),
    resources: found.map((r) => r.any),
    typeUrl: TYPE_SECRET,
    nonce: '',
  });
}
