// Secrets from the identity store, by SDS name, for one caller. Each (name, form, version) is encoded once and
// the Any bytes are shared by every stream that receives it; a rotation re-encodes once, not once per proxy.
import { create, toBinary } from '@bufbuild/protobuf';
import { anyPack, AnySchema } from '@bufbuild/protobuf/wkt';
import { DataSourceSchema } from '#gen/envoy/config/core/v3/base_pb';
import { TlsCertificateSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/common_pb';
import { SecretSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/secret_pb';
import {
  SPIFFECertValidatorConfigSchema,
} from '#gen/envoy/extensions/transport_sockets/tls/v3/tls_spiffe_validator_config_pb';
import type { X509Bundle } from '../../spiffe/bundle.js';
import { chainPemOf, type IdentityStore, type StoreChange } from '../../store/identity-store.js';
import { bytesField, contentVersion, encodeAny, encodeMessage, messageField, stringField, type LenField } from '../codec.js';
import type { IdentityPolicy } from '../policy.js';
import { isTrustplaneId } from '../../trustplane-ids.js';
import { principalToString } from '../principal.js';
import type { Resolution, SecretSummary, StreamContext } from '../protocol/resolution.js';
import { ALL_SECRET, DEFAULT_SECRET, parseSecretName, ROOTCA_SECRET, type SecretName } from './secret-names.js';

export const SPIFFE_VALIDATOR_NAME = 'envoy.tls.cert_validator.spiffe';

interface Encoded {
  readonly version: string;
  readonly any: Uint8Array;
  readonly secret: SecretSummary;
}

/**
 * One encoding as streams receive it, built once: a rotation resolves the same name for every subscriber, so
 * per stream this is a map lookup and a string comparison, with no hashing and no allocation.
 */
interface CachedSecret {
  /** The store version this was derived from (SVID or bundle version, or the ALL version). */
  readonly source: string;
  readonly found: Resolution & { kind: 'found' };
}

function cached(source: string, name: string, enc: Encoded): CachedSecret {
  return { source, found: { kind: 'found', resource: { name, ...enc } } };
}

function inline(text: string): { specifier: { case: 'inlineBytes'; value: Uint8Array } } {
  return { specifier: { case: 'inlineBytes', value: Buffer.from(text, 'utf8') } };
}

/**
 * A tls_certificate Secret as Any bytes, written by the codec's generic LEN-field writer with the field numbers
 * of the generated descriptors (one allocation). A renewal encodes one of these per SVID, and toBinary's
 * reflection costs more than minting the SVID did; a test proves the bytes equal toBinary(create(SecretSchema, …)).
 */
const F = {
  name: SecretSchema.field['name']!.number,
  tlsCertificate: SecretSchema.field['tlsCertificate']!.number,
  certificateChain: TlsCertificateSchema.field['certificateChain']!.number,
  privateKey: TlsCertificateSchema.field['privateKey']!.number,
  inlineBytes: DataSourceSchema.field['inlineBytes']!.number,
};
const SECRET_TYPE_URL = `type.googleapis.com/${SecretSchema.typeName}`;
export function tlsCertificateSecretAny(name: string, chainPem: string, privateKeyPem: string): Uint8Array {
  // inline_bytes is a oneof member: present (and written) even when empty.
  const dataSource = (field: number, pem: string): LenField => messageField(field, [bytesField(F.inlineBytes, Buffer.from(pem, 'utf8'))]);
  const fields: LenField[] = [];
  if (name) fields.push(stringField(F.name, name));
  fields.push(messageField(F.tlsCertificate, [dataSource(F.certificateChain, chainPem), dataSource(F.privateKey, privateKeyPem)]));
  return encodeAny(SECRET_TYPE_URL, encodeMessage(fields));
}

function bundlePem(b: X509Bundle): string {
  return b.x509Authorities.map((c) => c.toString()).join('');
}

/** Parsed names kept, by the total length of their keys: names come from callers, so the cache is bounded. */
const PARSED_MAX_CHARS = 1 << 18;

/** An invalid name whose reason is worked out only when read (parsing throws, and throwing is what costs). */
function lazyInvalid(name: string): SecretName & { kind: 'invalid' } {
  return {
    kind: 'invalid',
    get reason(): string {
      return (parseSecretName(name) as { reason: string }).reason;
    },
  };
}

export class SecretSource {
  readonly #parsed = new Map<string, SecretName>();
  #parsedChars = 0;
  readonly #encoded = new Map<string, CachedSecret>();
  #allVersion: string | undefined;
  #allBundles: X509Bundle[] | undefined;

  constructor(
    private readonly store: IdentityStore,
    private readonly policy: IdentityPolicy,
  ) {}

  /** Called on every store change before streams are told: drops encodings the change made stale. */
  onStoreChange(change: StoreChange): void {
    if (change.bundles.length) {
      this.#allVersion = undefined;
      this.#allBundles = undefined;
    }
    const svids = new Set(change.svids);
    const bundles = new Set(change.bundles);
    for (const key of this.#encoded.keys()) {
      const [, ref = '', form] = key.split('\0');
      const stale = form === undefined ? svids.has(ref) : ref === '*' ? bundles.size > 0 : bundles.has(ref);
      if (stale) this.#encoded.delete(key);
    }
  }

  /** Secret names whose content may have changed; `default` whenever any SVID changed. */
  affectedNames(change: StoreChange): string[] {
    const names = new Set<string>();
    for (const id of change.svids) names.add(id);
    if (change.svids.length) names.add(DEFAULT_SECRET);
    for (const td of change.bundles) names.add(`spiffe://${td}`);
    if (change.bundles.length) names.add(ALL_SECRET);
    if (change.bundles.includes(this.store.trustDomain)) names.add(ROOTCA_SECRET);
    return [...names];
  }

  resolve(ctx: StreamContext, name: string): Resolution {
    const parsed = this.#parsed.get(name) ?? this.#parse(name);
    switch (parsed.kind) {
      case 'invalid':
        return parsed;
      case 'svid':
        return this.#svid(ctx, name, parsed.spiffeId);
      case 'default': {
        const id = this.policy.defaultIdentity(ctx.principal, ctx.node);
        if (id === undefined) {
          return { kind: 'denied', reason: `no default identity for ${principalToString(ctx.principal)}` };
        }
        return this.#svid(ctx, name, id);
      }
      case 'bundle':
        return this.#bundle(ctx, name, parsed.trustDomain === 'own' ? this.store.trustDomain : parsed.trustDomain);
      case 'all':
        return this.#all(ctx, name);
    }
  }

  #parse(name: string): SecretName {
    const p = parseSecretName(name);
    // An invalid name is kept without its reason (long, and only read for a log sample): built again when asked.
    const parsed = p.kind === 'invalid' ? lazyInvalid(name) : p;
    if (this.#parsedChars + name.length > PARSED_MAX_CHARS) {
      this.#parsed.clear();
      this.#parsedChars = 0;
    }
    this.#parsed.set(name, parsed);
    this.#parsedChars += name.length;
    return parsed;
  }

  #svid(ctx: StreamContext, name: string, spiffeId: string): Resolution {
    // Not even `insecure` gets the server's or a node's key: those authenticate the control plane itself.
    if (isTrustplaneId(spiffeId)) return { kind: 'denied', reason: `${spiffeId} is trustplane's own identity and never served` };
    if (ctx.principal.kind !== 'insecure' && !this.policy.mayReceive(ctx.principal, spiffeId)) {
      return { kind: 'denied', reason: `${principalToString(ctx.principal)} may not receive ${spiffeId}` };
    }
    const version = this.store.svidVersion(spiffeId);
    if (version === undefined) return { kind: 'missing' };
    const key = `${name}\0${spiffeId}`;
    let hit = this.#encoded.get(key);
    if (hit?.source !== version) {
      const svid = this.store.getSvid(spiffeId)!;
      hit = cached(version, name, {
        version,
        any: tlsCertificateSecretAny(name, chainPemOf(svid), svid.privateKeyPem),
        secret: {
          kind: 'tls_certificate',
          spiffeId,
          serial: svid.serial,
          notBefore: svid.notBefore.toISOString(),
          notAfter: svid.notAfter.toISOString(),
        },
      });
      this.#encoded.set(key, hit);
    }
    return hit.found;
  }

  #bundle(ctx: StreamContext, name: string, trustDomain: string): Resolution {
    const bundleVersion = this.store.bundleVersion(trustDomain);
    if (bundleVersion === undefined) return { kind: 'missing' };
    const form = ctx.spiffeCertValidation ? 'spiffe' : 'ca';
    const key = `${name}\0${trustDomain}\0${form}`;
    let hit = this.#encoded.get(key);
    if (hit?.source !== bundleVersion) {
      const version = contentVersion(form, bundleVersion);
      hit = cached(bundleVersion, name, this.#encodeValidation(name, version, [this.store.getBundle(trustDomain)!], ctx.spiffeCertValidation));
      this.#encoded.set(key, hit);
    }
    return hit.found;
  }

  #all(ctx: StreamContext, name: string): Resolution {
    // Both dropped by onStoreChange whenever any bundle changes.
    const bundles = (this.#allBundles ??= this.store.bundles());
    if (bundles.length === 0) return { kind: 'missing' };
    this.#allVersion ??= contentVersion(
      ...bundles.map((b) => `${b.trustDomain.name}=${this.store.bundleVersion(b.trustDomain.name)}`),
    );
    const form = ctx.spiffeCertValidation ? 'spiffe' : 'ca';
    const key = `${name}\0*\0${form}`;
    let hit = this.#encoded.get(key);
    if (hit?.source !== this.#allVersion) {
      const version = contentVersion(form, this.#allVersion);
      hit = cached(this.#allVersion, name, this.#encodeValidation(name, version, bundles, ctx.spiffeCertValidation));
      this.#encoded.set(key, hit);
    }
    return hit.found;
  }

  #encodeValidation(name: string, version: string, bundles: readonly X509Bundle[], spiffe: boolean): Encoded {
    const sorted = [...bundles].sort((a, b) => (a.trustDomain.name < b.trustDomain.name ? -1 : 1));
    const validation = spiffe
      ? {
          customValidatorConfig: {
            name: SPIFFE_VALIDATOR_NAME,
            typedConfig: anyPack(
              SPIFFECertValidatorConfigSchema,
              create(SPIFFECertValidatorConfigSchema, {
                trustDomains: sorted.map((b) => ({ name: b.trustDomain.name, trustBundle: inline(bundlePem(b)) })),
              }),
            ),
          },
        }
      : { trustedCa: inline(sorted.map(bundlePem).join('')) };
    const secret = create(SecretSchema, { name, type: { case: 'validationContext', value: validation } });
    return {
      version,
      any: toBinary(AnySchema, anyPack(SecretSchema, secret)),
      secret: { kind: 'validation_context', trustDomains: sorted.map((b) => b.trustDomain.name) },
    };
  }
}
