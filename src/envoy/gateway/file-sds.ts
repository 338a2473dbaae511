// The gateway's server certificates (and optional client CAs) come from files, as cert-manager writes them into
// a Kubernetes secret volume (tls.crt, tls.key, ca.crt), and must be reloaded when cert-manager renews them.
//
// Envoy reloads certificate files only when they reach it through SDS: a DataSource filename inline in a TLS
// context is read once. So each listener entry's certificate is an SdsSecretConfig with a path_config_source:
// Envoy reads a Secret from <sdsDir>/<name>.yaml (written by `trustplane generate` beside the bootstrap, see
// gatewaySdsFiles) and the Secret names the certificate files.
//
// Kubernetes and cert-manager replace a secret volume's content atomically: the files are symlinks through
// `..data`, which is swapped by a rename inside the volume directory, so no event ever fires on tls.crt itself.
// That is what watched_directory is for: the Secret's TlsCertificate (and CertificateValidationContext) watch
// the directory of the certificate file, and any move in it reloads the files. The SDS file's own directory is
// watched the same way, so a regenerated SDS file swapped in by rename is picked up too.
import { create } from '@bufbuild/protobuf';
import { dirname } from 'node:path';
import { ApiVersion } from '#gen/envoy/config/core/v3/config_source_pb';
import { SdsSecretConfigSchema, SecretSchema, type SdsSecretConfig, type Secret } from '#gen/envoy/extensions/transport_sockets/tls/v3/secret_pb';
import type { GatewayListener, Service } from '../../mesh/model.js';
import { deepFreeze } from '../memo.js';
import { envoyAnyJson, printYaml } from '../yaml-print.js';

/** Where the gateway's Envoy finds the file-based SDS resources `trustplane generate` writes for it. */
export const GATEWAY_SDS_DIR = '/etc/trustplane/sds';

export const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

/**
 * Names of a listener entry's secrets. From its port and first host, which are unique together (a host is served
 * once per port) and survive reordering the description: a renamed secret is a new SDS provider for Envoy.
 * Distinct from every name trustplane's SDS serves (SPIFFE IDs, ROOTCA, ALL), which contain ':' or are upper case.
 */
export function gatewayEntryName(entry: GatewayListener): string {
  return `gateway_${entry.port}_${entry.hosts[0]!.replace(/^\*\./, 'wildcard.')}`;
}
export const certificateSecretName = (entry: GatewayListener): string => `${gatewayEntryName(entry)}_cert`;
export const clientCaSecretName = (entry: GatewayListener): string => `${gatewayEntryName(entry)}_client_ca`;

export function sdsFilePath(name: string, sdsDir: string = GATEWAY_SDS_DIR): string {
  return `${sdsDir}/${name}.yaml`;
}

const configs = new Map<string, SdsSecretConfig>();

/** SdsSecretConfig reading the Secret `name` from its file; built once per (name, dir), so byte-identical. */
export function fileSdsSecretConfig(name: string, sdsDir: string = GATEWAY_SDS_DIR): SdsSecretConfig {
  const key = `${sdsDir}\n${name}`;
  let config = configs.get(key);
  if (!config) {
    config = deepFreeze(
      create(SdsSecretConfigSchema, {
        name,
        sdsConfig: {
          configSourceSpecifier: { case: 'pathConfigSource', value: { path: sdsFilePath(name, sdsDir), watchedDirectory: { path: sdsDir } } },
          resourceApiVersion: ApiVersion.V3,
        },
      }),
    );
    configs.set(key, config);
  }
  return config;
}

/** The Secrets behind a gateway service's file-based SDS configs, in listener order. */
export function gatewaySecrets(service: Service): Secret[] {
  const secrets: Secret[] = [];
  for (const entry of service.gateway?.listeners ?? []) {
    const { tls } = entry;
    secrets.push(
      create(SecretSchema, {
        name: certificateSecretName(entry),
        type: {
          case: 'tlsCertificate',
          value: {
            certificateChain: { specifier: { case: 'filename', value: tls.certificateFile } },
            privateKey: { specifier: { case: 'filename', value: tls.privateKeyFile } },
            watchedDirectory: { path: dirname(tls.certificateFile) },
          },
        },
      }),
    );
    if (tls.clientCaFile !== undefined) {
      secrets.push(
        create(SecretSchema, {
          name: clientCaSecretName(entry),
          type: {
            case: 'validationContext',
            value: {
              trustedCa: { specifier: { case: 'filename', value: tls.clientCaFile } },
              watchedDirectory: { path: dirname(tls.clientCaFile) },
            },
          },
        }),
      );
    }
  }
  return secrets;
}

/**
 * The file-based SDS resources of a gateway service, keyed by file name (`<secret>.yaml`, to be placed in
 * GATEWAY_SDS_DIR): each a DiscoveryResponse-shaped YAML holding one Secret, the form path_config_source reads.
 */
export function gatewaySdsFiles(service: Service, source = 'the mesh description'): Map<string, string> {
  const files = new Map<string, string>();
  for (const secret of gatewaySecrets(service)) {
    const header = [
      `Secret ${secret.name} for gateway ${service.name}, generated by trustplane from ${source}; Envoy reads it from ${sdsFilePath(secret.name)}.`,
      'It names certificate files only; Envoy reloads them when their directory changes (cert-manager renewals).',
    ];
    files.set(`${secret.name}.yaml`, printYaml({ resources: [envoyAnyJson(SECRET_TYPE_URL, SecretSchema, secret)] }, header));
  }
  return files;
}
