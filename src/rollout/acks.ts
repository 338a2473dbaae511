// Has a step been ACKed? Read off the xDS server's proxy status. Pure.
//
// A step is identified by the versions of one resource (a listener or a cluster of one service) that carry it:
// the version the controller pushed for the step, and every version pushed after it while the step stood (a
// later, unrelated edit of the same listener still carries the step). Versions are the resource cache's content
// versions, which the proxy status records per resource name.
import type { ProxyStatus, ProxyStatusSnapshot } from '../xds/status/proxy-status.js';
import { standing } from './progress.js';

export interface ProxyRef {
  readonly nodeId: string;
  readonly streamId: string;
}

export interface Nack extends ProxyRef {
  readonly message: string;
}

export interface AckProgress {
  /** ADS streams of the service connected now (node.cluster = the service name). */
  readonly connected: readonly ProxyRef[];
  readonly acked: readonly ProxyRef[];
  /** Proxies that rejected a version carrying the step, with their error_detail. */
  readonly nacked: readonly Nack[];
  /** Connected, and neither ACKed nor NACKed the step yet (not sent, sent, or holding an older version). */
  readonly pending: readonly ProxyRef[];
}

export const isSettled = (p: AckProgress): boolean => p.acked.length === p.connected.length;

/** The proxies that receive a service's listeners and clusters: its aggregated (ADS) streams. */
export function proxiesOf(snapshot: ProxyStatusSnapshot, service: string): ProxyStatus[] {
  return snapshot.proxies.filter((p) => p.service === 'ads' && p.cluster === service);
}

/**
 * Where each connected proxy of `service` stands on one resource. `versions` empty means the resource is not
 * served at all (e.g. a target trustplane does not generate for): nothing can be ACKed and nothing is waited for.
 */
export function ackProgress(snapshot: ProxyStatusSnapshot, service: string, typeUrl: string, name: string, versions: ReadonlySet<string>): AckProgress {
  const connected: ProxyRef[] = [];
  const acked: ProxyRef[] = [];
  const nacked: Nack[] = [];
  const pending: ProxyRef[] = [];
  for (const p of proxiesOf(snapshot, service)) {
    const ref = { nodeId: p.nodeId, streamId: p.streamId };
    connected.push(ref);
    const r = p.types.find((t) => t.typeUrl === typeUrl)?.resources.find((x) => x.name === name);
    const s = standing(r, versions);
    if (s === 'acked') acked.push(ref);
    else if (s === 'nacked') nacked.push({ ...ref, message: r?.error ?? '' });
    else pending.push(ref);
  }
  return { connected, acked, nacked, pending };
}
