// One resolver over both sources: secrets from the identity store, everything else from the resource cache.
import type { IdentityPolicy } from '../policy.js';
import { principalToString } from '../principal.js';
import { DEFAULT_GROUP, type ResourceCache } from '../cache/resource-cache.js';
import type { Resolution, ResourceResolver, StreamContext } from '../protocol/resolution.js';
import type { SecretSource } from '../secrets/secrets.js';
import { isWildcardType, TYPE_SECRET } from '../type-urls.js';

export class CombinedResolver implements ResourceResolver {
  constructor(
    private readonly secrets: SecretSource,
    private readonly resources: ResourceCache,
    private readonly policy: IdentityPolicy,
  ) {}

  resolve(ctx: StreamContext, typeUrl: string, name: string): Resolution {
    if (typeUrl === TYPE_SECRET) return this.secrets.resolve(ctx, name);
    if (!this.#mayRead(ctx)) return { kind: 'denied', reason: `${principalToString(ctx.principal)} may not receive the configuration of ${JSON.stringify(ctx.group)}` };
    const r = this.resources.get(ctx.group, typeUrl, name);
    return r ? { kind: 'found', resource: r } : { kind: 'missing' };
  }

  wildcardNames(ctx: StreamContext, typeUrl: string): string[] {
    return isWildcardType(typeUrl) && this.#mayRead(ctx) ? this.resources.names(ctx.group, typeUrl) : [];
  }

  #mayRead(ctx: StreamContext): boolean {
    return ctx.group === DEFAULT_GROUP || ctx.principal.kind === 'insecure' || (this.policy.mayReadGroup?.(ctx.principal, ctx.group) ?? true);
  }
}
