// An incremental (Delta) stream (DeltaSecrets or DeltaAggregatedResources). Per type: the subscription and the
// version of each resource the proxy holds (seeded from initial_resource_versions on reconnect). A push carries
// only resources whose version differs from what the proxy holds, and removed_resources for names it holds or
// asked for that do not exist (each reported once until it appears). Versions are recorded when sent, so a
// NACKed version is not resent until its content changes.
import type { DeltaDiscoveryRequest } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { encodeDeltaDiscoveryResponse, listVersion, type DeltaResourceEntry } from '../codec.js';
import type { ResolvedResource } from './resolution.js';
import { deltaAnswer, rememberSent } from './nack.js';
import { keptVersion, XdsStream } from './stream.js';
import { DeltaSubscription } from './subscriptions.js';
import { isWildcardType, PerType } from '../type-urls.js';

interface DeltaTypeState {
  readonly sub: DeltaSubscription;
  readonly held: Map<string, string>;
  /** Subscribed names reported as removed because they do not exist; made at the first such report. */
  reportedAbsent: Set<string> | undefined;
  readonly unanswered: string[];
  everSent: boolean;
}

export class DeltaStream extends XdsStream {
  readonly #types = new PerType<DeltaTypeState>();

  protected onRequest(raw: unknown): void {
    const req = raw as DeltaDiscoveryRequest;
    this.context(req.node);
    const typeUrl = this.acceptType(req.typeUrl);
    if (typeUrl === undefined) return;
    const initial = Object.entries(req.initialResourceVersions);
    this.checkNames(typeUrl, [...req.resourceNamesSubscribe, ...req.resourceNamesUnsubscribe, ...initial.map(([n]) => n)]);
    let st = this.#types.get(typeUrl);
    const first = st === undefined;
    if (!st) {
      st = {
        sub: new DeltaSubscription(isWildcardType(typeUrl)),
        held: new Map(initial.map(([n, v]) => [n, keptVersion(v)])),
        reportedAbsent: undefined,
        unanswered: [],
        everSent: false,
      };
      this.#types.set(typeUrl, st);
    }

    this.answered(typeUrl, deltaAnswer(req, st.unanswered));

    // Subscription changes are honoured whatever the nonce.
    const delta = st.sub.apply(req.resourceNamesSubscribe, req.resourceNamesUnsubscribe);
    this.subscriptionChanged(typeUrl, delta, st.sub.wildcard);
    for (const n of delta.removed) {
      st.held.delete(n);
      st.reportedAbsent?.delete(n);
    }
    // Leaving the wildcard: the proxy drops what it held through it; nothing to report as removed.
    if (delta.wildcardChanged && !st.sub.wildcard) for (const n of [...st.held.keys()]) if (!st.sub.names.has(n)) st.held.delete(n);
    // An unsubscription alone is answered too (usually with nothing): the status's left-out summary is rebuilt.
    if (first || delta.added.length || delta.removed.length || delta.wildcardChanged) this.requestedDirty(typeUrl, this.now());
  }

  protected build(typeUrl: string): Uint8Array | undefined {
    const st = this.#types.get(typeUrl);
    if (!st || !this.ctx) return undefined;
    const { resolver } = this.deps;
    const names = new Set(st.sub.names);
    if (st.sub.wildcard) for (const n of resolver.wildcardNames(this.ctx, typeUrl)) names.add(n);
    const sent: ResolvedResource[] = [];
    const alreadyHeld: ResolvedResource[] = [];
    const removed: string[] = [];
    this.beginBuild(names.size);
    for (const name of [...names].sort()) {
      const res = resolver.resolve(this.ctx, typeUrl, name);
      if (res.kind === 'found') {
        this.noteFound(typeUrl, name);
        st.reportedAbsent?.delete(name);
        if (st.held.get(name) !== res.resource.version) sent.push(res.resource);
        else if (!st.everSent) alreadyHeld.push(res.resource);
        continue;
      }
      this.noteAbsent(typeUrl, name, res);
      if (st.held.delete(name)) removed.push(name);
      else if (st.sub.names.has(name) && !st.reportedAbsent?.has(name)) {
        (st.reportedAbsent ??= new Set()).add(name);
        removed.push(name);
      }
    }
    this.endBuild(typeUrl);
    // Held (or claimed on reconnect) but no longer covered by the subscription or no longer existing.
    for (const name of [...st.held.keys()]) {
      if (!names.has(name)) {
        st.held.delete(name);
        removed.push(name);
      }
    }
    if (alreadyHeld.length) {
      // Reconnected holding the current version (initial_resource_versions): nothing to send, and the proxy status
      // must still say it has them, or whoever waits for this proxy (the rollout) would wait forever.
      this.record!.sent(typeUrl, '', '', this.now(), alreadyHeld);
      this.record!.ack(typeUrl, '', this.now());
    }
    if (sent.length === 0 && removed.length === 0 && (st.everSent || !st.sub.wildcard)) return undefined;
    for (const r of sent) st.held.set(r.name, r.version);
    const nonce = this.nextNonce();
    st.everSent = true;
    rememberSent(st.unanswered, nonce);
    const systemVersion = listVersion([...st.held].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, v]) => `${n}=${v}`));
    this.record!.sent(typeUrl, nonce, systemVersion, this.now(), sent, removed);
    const entries: DeltaResourceEntry[] = sent.map((r) => ({ name: r.name, version: r.version, any: r.any }));
    return encodeDeltaDiscoveryResponse({ systemVersionInfo: systemVersion, resources: entries, typeUrl, removedResources: removed, nonce });
  }

  protected *subscriptions(): Iterable<[string, Iterable<string>, boolean]> {
    for (const [typeUrl, st] of this.#types.entries()) yield [typeUrl, [...st.sub.names], st.sub.wildcard];
  }
}
