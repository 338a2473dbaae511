// Stand-ins for a server's and a client's Envoy on real ADS streams, which ACK, NACK or withhold ACKs as a test
// says. `settle()` sends a probe the server must answer and checks that its answer is the next message: proof
// that everything sent before it was processed, and that nothing was pushed in between.
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { RouteConfigurationSchema } from '#gen/envoy/config/route/v3/route_pb';
import type { Cluster } from '#gen/envoy/config/cluster/v3/cluster_pb';
import type { Listener } from '#gen/envoy/config/listener/v3/listener_pb';
import type { DeltaDiscoveryResponse, DiscoveryResponse } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { DEFAULT_GROUP, type ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { TYPE_CLUSTER, TYPE_LISTENER, TYPE_ROUTE } from '../../src/xds/type-urls.js';
import { PATHS, type DeltaClient, type SotwClient, type XdsTestClient } from '../xds/protocol/client.js';
import { clusterOf, listenerOf } from './fixtures.js';

/** A route every node can subscribe to: a SotW proxy toggles it to get an answer on demand. */
export function addProbeRoute(cache: ResourceCache): void {
  cache.setSnapshot(DEFAULT_GROUP, { [TYPE_ROUTE]: [{ name: 'probe', resource: anyPack(RouteConfigurationSchema, create(RouteConfigurationSchema, { name: 'probe' })) }] });
}

/** The server's proxy: Delta ADS, subscribed to its inbound listener. */
export class DeltaListenerProxy {
  readonly #s: DeltaClient;
  #probes = 0;
  last: DeltaDiscoveryResponse | undefined;

  constructor(client: XdsTestClient, nodeId: string, service: string, listener: string) {
    this.#s = client.delta(PATHS.DeltaAggregatedResources, `node:${nodeId}`);
    this.#s.send({ node: { id: nodeId, cluster: service }, typeUrl: TYPE_LISTENER, resourceNamesSubscribe: [listener] });
  }

  /** The next push, which must be a listener update carrying exactly one listener. */
  async nextListener(): Promise<Listener> {
    const r = await this.#s.next();
    assert.equal(r.typeUrl, TYPE_LISTENER, 'expected a listener push');
    assert.equal(r.resources.length, 1);
    this.last = r;
    return listenerOf(r.resources[0]!.resource!);
  }

  ack(): void {
    this.#s.ack(this.last!);
  }

  nack(message: string): void {
    this.#s.send({ typeUrl: TYPE_LISTENER, responseNonce: this.last!.nonce, errorDetail: { code: 3, message } });
  }

  /** Subscribes a route name that does not exist: Delta reports it in removed_resources. */
  async settle(): Promise<void> {
    const name = `probe-${++this.#probes}`;
    this.#s.send({ typeUrl: TYPE_ROUTE, resourceNamesSubscribe: [name] });
    const r = await this.#s.next();
    assert.equal(r.typeUrl, TYPE_ROUTE, `expected the probe's answer, got a ${r.typeUrl} push`);
    assert.deepEqual(r.removedResources, [name]);
  }

  close(): void {
    this.#s.end();
  }
}

/** A client's proxy: SotW ADS, subscribed to its cluster to the server. */
export class SotwClusterProxy {
  readonly #s: SotwClient;
  #probeOn = false;
  last: DiscoveryResponse | undefined;

  constructor(client: XdsTestClient, nodeId: string, service: string, readonly cluster: string) {
    this.#s = client.sotw(PATHS.StreamAggregatedResources, `node:${nodeId}`);
    this.#s.send({ node: { id: nodeId, cluster: service }, typeUrl: TYPE_CLUSTER, resourceNames: [cluster] });
  }

  async nextCluster(): Promise<Cluster> {
    const r = await this.#s.next();
    assert.equal(r.typeUrl, TYPE_CLUSTER, 'expected a cluster push');
    assert.equal(r.resources.length, 1);
    this.last = r;
    return clusterOf(r.resources[0]!);
  }

  ack(): void {
    this.#s.ack(this.last!, [this.cluster]);
  }

  /** Subscribes to, or leaves, the probe route: either way SotW answers with the new set. */
  async settle(): Promise<void> {
    this.#probeOn = !this.#probeOn;
    this.#s.send({ typeUrl: TYPE_ROUTE, resourceNames: this.#probeOn ? ['probe'] : [] });
    const r = await this.#s.next();
    assert.equal(r.typeUrl, TYPE_ROUTE, `expected the probe's answer, got a ${r.typeUrl} push`);
    assert.equal(r.resources.length, this.#probeOn ? 1 : 0);
  }

  close(): void {
    this.#s.end();
  }
}
