// Names of generated resources. Names are stable for a given description (a rename is a remove + add for
// Envoy, which drains connections), and unique within one node's resources.
import type { InboundPort, Outbound } from '../mesh/model.js';

/** Cluster of the xDS server in every bootstrap. */
export const XDS_CLUSTER = 'trustplane';

export const inboundListenerName = (port: InboundPort): string => `inbound_${port.port}`;
/** The local application behind an inbound port; keyed by the listen port, which is unique per service. */
export const localClusterName = (port: InboundPort): string => `inbound_${port.port}_app`;
export const outboundClusterName = (dep: Outbound): string => `outbound_${dep.name}`;
export const outboundListenerName = (dep: Outbound): string => `outbound_${dep.name}`;
