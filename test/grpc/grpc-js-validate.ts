// Runs @grpc/grpc-js-xds's own resource validation (the code that decides ACK or NACK in a real gRPC process) on
// resources trustplane generates, in this process, without a network. RBAC support is switched on the way a
// deployment must switch it on (GRPC_XDS_EXPERIMENTAL_RBAC=true), before the library reads its environment.
import { createRequire } from 'node:module';
import { LISTENER_TYPE_URL, CLUSTER_TYPE_URL, ROUTE_TYPE_URL, ENDPOINT_TYPE_URL } from '../../src/envoy/type-urls.js';

process.env['GRPC_XDS_EXPERIMENTAL_RBAC'] = 'true';
const require = createRequire(import.meta.url);

interface Decoded {
  name: string;
  value?: unknown;
  error?: string;
}
interface ResourceType {
  decode(context: unknown, resource: { type_url: string; value: Buffer }): Decoded;
}

let types: Record<string, ResourceType> | undefined;

function resourceTypes(): Record<string, ResourceType> {
  if (types) return types;
  (require('@grpc/grpc-js-xds') as { register(): void }).register();
  const load = (file: string, name: string) => (require(`@grpc/grpc-js-xds/build/src/xds-resource-type/${file}`) as Record<string, { get(): ResourceType }>)[name]!.get();
  types = {
    [LISTENER_TYPE_URL]: load('listener-resource-type', 'ListenerResourceType'),
    [CLUSTER_TYPE_URL]: load('cluster-resource-type', 'ClusterResourceType'),
    [ROUTE_TYPE_URL]: load('route-config-resource-type', 'RouteConfigurationResourceType'),
    [ENDPOINT_TYPE_URL]: load('endpoint-resource-type', 'EndpointResourceType'),
  };
  return types;
}

/**
 * What grpc-js-xds makes of one resource: its name, or the NACK error_detail it would send. `providers` are the
 * certificate provider instance names the bootstrap defines.
 */
export function grpcJsDecode(typeUrl: string, bytes: Uint8Array, providers: readonly string[] = ['trustplane']): Decoded {
  const type = resourceTypes()[typeUrl];
  if (!type) throw new Error(`no grpc-js-xds resource type for ${typeUrl}`);
  const certificateProviders = Object.fromEntries(providers.map((p) => [p, {}]));
  return type.decode({ bootstrap: { certificateProviders }, server: {} }, { type_url: typeUrl, value: Buffer.from(bytes) });
}
