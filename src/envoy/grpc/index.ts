// Proxyless gRPC target: resources (resources.ts, registered in ../resources.ts) and the gRPC bootstrap.
export { grpcResources } from './resources.js';
export { buildGrpcBootstrap, durationString, DEFAULT_GRPC_BOOTSTRAP_OPTIONS, DEFAULT_SVID_DIR, DEFAULT_REFRESH_INTERVAL_MS, type GrpcBootstrapOptions, type GrpcLocality } from './bootstrap.js';
export { CERTIFICATE_PROVIDER_INSTANCE, SERVER_LISTENER_TEMPLATE, serverListenerName, clientListenerName, grpcTarget, hostPort } from './names.js';
export { GRPC_SERVER_CHAIN, type GrpcServerChain } from './server.js';
