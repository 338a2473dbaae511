// A State-of-the-World stream (StreamSecrets or StreamAggregatedResources). Per type: the subscription, the
// version and nonce of the last response, and nothing else; every response is rebuilt from current state.
// A response holds exactly the subscribed names that exist and are allowed, and its version is a hash of their
// (name, version) pairs, so "anything to send?" is one comparison: the same version is never sent twice in a
// row, which is also what stops a NACKed response from being resent before its content changes.
import type { DiscoveryRequest } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { encodeDiscoveryResponse, listVersion } from '../codec.js';
import type { ResolvedResource } from './resolution.js';
import { sotwAnswer } from './nack.js';
import { keptVersion, XdsStream } from './stream.js';
import { SotwSubscription } from './subscriptions.js';
import { isWildcardType, PerType } from '../type-urls.js';

interface SotwTypeState {
  readonly sub: SotwSubscription;
  versionSent?: string;
  nonceSent?: string;
  /** version_info of the first request: what the proxy already holds from an earlier stream. */
  clientVersion?: string;
}

export function sotwVersion(resources: readonly ResolvedResource[]): string {
  return listVersion(resources.map((r) => `${r.name}=${r.version}`));
}

export class SotwStream extends XdsStream {
  readonly #types = new PerType<SotwTypeState>();

  protected onRequest(raw: unknown): void {
    const req = raw as DiscoveryRequest;
    this.context(req.node);
    const typeUrl = this.acceptType(req.typeUrl);
    if (typeUrl === undefined) return;
    this.checkNames(typeUrl, req.resourceNames);
    let st = this.#types.get(typeUrl);
    const first = st === undefined;
    if (!st) this.#types.set(typeUrl, (st = { sub: new SotwSubscription(isWildcardType(typeUrl)), versionSent: undefined, nonceSent: undefined, clientVersion: undefined }));

    const answer = sotwAnswer(req, st.nonceSent);
    // A request answering an older response: the proxy has not seen the latest one yet and will answer it.
    if (answer.kind === 'stale') return;
    this.answered(typeUrl, answer);
    if (first && req.versionInfo) st.clientVersion = keptVersion(req.versionInfo);

    // Compared on every request: a subscription change arrives with the previous nonce and no error.
    const delta = st.sub.update(req.resourceNames);
    this.subscriptionChanged(typeUrl, delta, st.sub.wildcard);
    if (first || delta.added.length || delta.removed.length || delta.wildcardChanged) this.requestedDirty(typeUrl, this.now());
  }

  protected build(typeUrl: string): Uint8Array | undefined {
    const st = this.#types.get(typeUrl);
    if (!st || !this.ctx) return undefined;
    const { resolver } = this.deps;
    let names: readonly string[] = st.sub.names;
    if (st.sub.wildcard) {
      const all = new Set(names);
      for (const n of resolver.wildcardNames(this.ctx, typeUrl)) all.add(n);
      names = [...all];
    }
    const found: ResolvedResource[] = [];
    this.beginBuild(names.length);
    for (const name of [...names].sort()) {
      const res = resolver.resolve(this.ctx, typeUrl, name);
      if (res.kind === 'found') {
        found.push(res.resource);
        this.noteFound(typeUrl, name);
      } else {
        this.noteAbsent(typeUrl, name, res);
      }
    }
    this.endBuild(typeUrl);
    const version = sotwVersion(found);
    if (version === st.versionSent) return undefined;
    if (st.versionSent === undefined) {
      if (version === st.clientVersion) {
        // Reconnected with what it already holds: no churn. Shown as synced.
        st.versionSent = version;
        this.record!.sent(typeUrl, '', version, this.now(), found);
        this.record!.ack(typeUrl, '', this.now());
        return undefined;
      }
      // Nothing to say yet about names that do not exist; a wildcard request always gets an answer.
      if (found.length === 0 && !st.sub.wildcard) return undefined;
    }
    const nonce = this.nextNonce();
    st.versionSent = version;
    st.nonceSent = nonce;
    this.record!.sent(typeUrl, nonce, version, this.now(), found);
    return encodeDiscoveryResponse({ versionInfo: version, resources: found.map((r) => r.any), typeUrl, nonce });
  }

  protected *subscriptions(): Iterable<[string, Iterable<string>, boolean]> {
    for (const [typeUrl, st] of this.#types.entries()) yield [typeUrl, st.sub.names, st.sub.wildcard];
  }
}
