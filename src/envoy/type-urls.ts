// The xDS type URLs of what the generator serves over ADS (the xDS server keys its cache by these).
export const LISTENER_TYPE_URL = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const CLUSTER_TYPE_URL = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ROUTE_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const ENDPOINT_TYPE_URL = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
export const BOOTSTRAP_TYPE_NAME = 'envoy.config.bootstrap.v3.Bootstrap';
export const DISCOVERY_RESPONSE_TYPE_NAME = 'envoy.service.discovery.v3.DiscoveryResponse';
