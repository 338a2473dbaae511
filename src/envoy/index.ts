// The Envoy generator's public API. Pure builders; golden.ts is the only module here that touches files.
export { buildServiceResources, buildNodeResources, serviceForNode, isGenerated, GENERATED_TARGETS, type ServiceResources, type NodeResource } from './resources.js';
export { buildBootstrap, tcpXdsEndpoint, defaultServerSpiffeId, DEFAULT_BOOTSTRAP_OPTIONS, DEFAULT_XDS_SOCKET, type BootstrapOptions, type XdsEndpoint } from './bootstrap.js';
export { generateAll, generateService, SERVICE_FILES, type GenerateOptions, type ServiceFile } from './generate.js';
export { sdsSecretConfig, validationSecretName, isValidationSecretName, DEFAULT_SDS_POLICY, type SdsPolicy, type SdsSource } from './sds.js';
export { resourceOptions, DEFAULT_RESOURCE_OPTIONS, type ResourceOptions } from './options.js';
export { FILTER_CHAIN_TABLE, filterChainRows, type FilterChainRow } from './filter-chains.js';
export { EnvoyGenerateError } from './errors.js';
export { LISTENER_TYPE_URL, CLUSTER_TYPE_URL, ROUTE_TYPE_URL } from './type-urls.js';
