import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import type { Secret } from '#gen/envoy/extensions/transport_sockets/tls/v3/secret_pb';
import { SPIFFECertValidatorConfigSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/tls_spiffe_validator_config_pb';
import type { DeltaDiscoveryResponse, DiscoveryResponse } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { strictUnpack } from './strict.js';

/** Every Secret of a response, each parsed strictly. */
export async function secretsOf(resp: DiscoveryResponse | DeltaDiscoveryResponse): Promise<Secret[]> {
  const anys = resp.$typeName === 'envoy.service.discovery.v3.DiscoveryResponse' ? resp.resources : resp.resources.map((r) => r.resource!);
  const out: Secret[] = [];
  for (const a of anys) {
    const m = await strictUnpack(toBinary(AnySchema, a));
    if (m.$typeName !== 'envoy.extensions.transport_sockets.tls.v3.Secret') throw new Error(`not a Secret: ${m.$typeName}`);
    out.push(m as Secret);
  }
  return out;
}

export async function secretNames(resp: DiscoveryResponse | DeltaDiscoveryResponse): Promise<string[]> {
  return (await secretsOf(resp)).map((s) => s.name).sort();
}

export function deltaNames(resp: DeltaDiscoveryResponse): string[] {
  return resp.resources.map((r) => r.name).sort();
}

/** Trust domain names of a SPIFFE-validator validation context, in order; undefined if it is plain trusted_ca. */
export function validatorTrustDomains(s: Secret): string[] | undefined {
  if (s.type.case !== 'validationContext') throw new Error(`${s.name} is not a validation context`);
  const custom = s.type.value.customValidatorConfig;
  if (!custom) return undefined;
  if (custom.name !== 'envoy.tls.cert_validator.spiffe') throw new Error(`unexpected validator ${custom.name}`);
  const cfg = fromBinary(SPIFFECertValidatorConfigSchema, custom.typedConfig!.value);
  return cfg.trustDomains.map((t) => t.name);
}

export function certPem(s: Secret): string {
  if (s.type.case !== 'tlsCertificate') throw new Error(`${s.name} is not a tls_certificate`);
  const c = s.type.value.certificateChain?.specifier;
  return c?.case === 'inlineBytes' ? Buffer.from(c.value).toString('utf8') : '';
}

export function anyBytes(resp: DiscoveryResponse): Buffer[] {
  return resp.resources.map((a) => Buffer.from(toBinary(AnySchema, fromBinary(AnySchema, toBinary(AnySchema, a)))));
}
