// Every SdsSecretConfig the generator emits is built here, from (name, policy) only.
//
// Why one function: Envoy keys its SDS providers by the bytes of the SdsSecretConfig. Two configs for the same
// name that differ in any byte (even initial_fetch_timeout) create a second provider, and a provider created on
// a later push may never be filled (envoy#47309, #46155): the listener then warms forever. Building every config
// through this function, from nothing but the secret name and one policy, makes the bytes a function of the name.
//
// Where secrets come from (`source`):
// - 'ads' (default): the secret rides the bootstrap's ADS stream, like listeners and clusters. One gRPC stream per
//   proxy (the xDS server's memory per stream is the scaling limit), and one ordered stream on which Envoy sees a
//   listener and the secrets it waits for, so warming ends as soon as the server answers. Needs ads_config in the
//   bootstrap, which both bootstrap variants carry.
// - 'cluster': an api_config_source to the xDS cluster, SPIRE-agent style, for Envoys whose listeners come from
//   elsewhere. Envoy then runs a separate SDS subscription outside ADS.
//
// initial_fetch_timeout: Envoy's default is 15 s, after which it activates the listener or cluster without the
// secret and every TLS handshake on it fails until the secret arrives (counted as *_context_secrets_not_ready).
// trustplane is the only source of these secrets and the xDS server remembers a name that does not exist yet
// and pushes it when it appears, so by default we wait (0 s = no timeout), as Istio does for `default`/`ROOTCA`.
// A warming update never disturbs the listener already serving. Both timeouts are options.
import { create } from '@bufbuild/protobuf';
import { ApiVersion, ConfigSourceSchema, type ConfigSource, AggregatedConfigSourceSchema, ApiConfigSource_ApiType } from '#gen/envoy/config/core/v3/config_source_pb';
import { SdsSecretConfigSchema, type SdsSecretConfig } from '#gen/envoy/extensions/transport_sockets/tls/v3/secret_pb';
import type { TrustDomain } from '../spiffe/trust-domain.js';
import { XDS_CLUSTER } from './names.js';
import { deepFreeze } from './memo.js';
import { durationMs } from './typed.js';

export type SdsSource = 'ads' | 'cluster';

export interface SdsPolicy {
  readonly source: SdsSource;
  /** initial_fetch_timeout of tls_certificate secrets (a SPIFFE ID, `default`), in ms; 0 = wait forever. */
  readonly svidInitialFetchTimeoutMs: number;
  /** initial_fetch_timeout of validation contexts (`spiffe://<td>`, `ROOTCA`, `ALL`), in ms; 0 = wait forever. */
  readonly validationInitialFetchTimeoutMs: number;
}

export const DEFAULT_SDS_POLICY: SdsPolicy = Object.freeze({
  source: 'ads',
  svidInitialFetchTimeoutMs: 0,
  validationInitialFetchTimeoutMs: 0,
});

/** Secret names that carry a validation context (issue 4): `ROOTCA`, `ALL`, or a trust domain's ID. */
export function isValidationSecretName(name: string): boolean {
  if (name === 'ROOTCA' || name === 'ALL') return true;
  if (!name.startsWith('spiffe://')) return false;
  return !name.slice('spiffe://'.length).includes('/');
}

/**
 * The validation-context secret for peers from these trust domains: the domain's own ID when there is one,
 * `ALL` (every bundle, checked by Envoy's SPIFFE validator per peer trust domain) when they span several.
 */
export function validationSecretName(trustDomains: readonly TrustDomain[]): string {
  const names = new Set(trustDomains.map((td) => td.name));
  if (names.size === 1) return trustDomains[0]!.idString();
  return 'ALL';
}

// Memoised per policy object: the same frozen message is shared by every context that names the secret, which
// makes byte identity hold by construction and saves building it again for each listener and cluster.
const cache = new WeakMap<SdsPolicy, Map<string, SdsSecretConfig>>();

export function sdsSecretConfig(name: string, policy: SdsPolicy = DEFAULT_SDS_POLICY): SdsSecretConfig {
  let byName = cache.get(policy);
  if (!byName) cache.set(policy, (byName = new Map()));
  const hit = byName.get(name);
  if (hit) return hit;
  const config = create(SdsSecretConfigSchema, { name, sdsConfig: sdsConfigSource(policy, isValidationSecretName(name)) });
  byName.set(name, deepFreeze(config));
  return config;
}

// The sds_config part depends only on the policy and the kind of secret; one frozen message per pair.
const sources = new WeakMap<SdsPolicy, { svid?: ConfigSource; validation?: ConfigSource }>();

function sdsConfigSource(policy: SdsPolicy, validation: boolean): ConfigSource {
  let byKind = sources.get(policy);
  if (!byKind) sources.set(policy, (byKind = {}));
  const kind = validation ? 'validation' : 'svid';
  return (byKind[kind] ??= deepFreeze(buildSdsConfigSource(policy, validation)));
}

function buildSdsConfigSource(policy: SdsPolicy, validation: boolean): ConfigSource {
  const timeout = validation ? policy.validationInitialFetchTimeoutMs : policy.svidInitialFetchTimeoutMs;
  const configSourceSpecifier =
    policy.source === 'ads'
      ? { case: 'ads' as const, value: create(AggregatedConfigSourceSchema) }
      : {
          case: 'apiConfigSource' as const,
          value: {
            apiType: ApiConfigSource_ApiType.GRPC,
            transportApiVersion: ApiVersion.V3,
            grpcServices: [{ targetSpecifier: { case: 'envoyGrpc' as const, value: { clusterName: XDS_CLUSTER } } }],
            setNodeOnFirstMessageOnly: true,
          },
        };
  return create(ConfigSourceSchema, {
    configSourceSpecifier,
    initialFetchTimeout: durationMs(timeout),
    resourceApiVersion: ApiVersion.V3,
  });
}
