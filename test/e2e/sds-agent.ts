// The SDS side of a sidecar: one State-of-the-World StreamSecrets stream over a real gRPC channel, ACKing every
// response, keeping the latest Secret of each name, and turning a tls_certificate plus a validation context into
// the material of a node:tls endpoint. Tests wait on pushes actually received, never on time.
import * as grpc from '@grpc/grpc-js';
import { fromBinary, type JsonObject } from '@bufbuild/protobuf';
import type { Secret } from '#gen/envoy/extensions/transport_sockets/tls/v3/secret_pb';
import { SPIFFECertValidatorConfigSchema } from '#gen/envoy/extensions/transport_sockets/tls/v3/tls_spiffe_validator_config_pb';
import type { DiscoveryResponse } from '#gen/envoy/service/discovery/v3/discovery_pb';
import { X509Bundle } from '../../src/spiffe/bundle.js';
import { TrustDomain } from '../../src/spiffe/trust-domain.js';
import { TYPE_SECRET } from '../../src/xds/type-urls.js';
import { PATHS, SotwClient } from '../xds/protocol/client.js';
import { secretsOf } from '../xds/protocol/helpers.js';
import type { TlsMaterial } from './tls-peer.js';

/** How long a test waits for a push before failing: a guard against hanging, not a stand-in for the event. */
const GUARD_MS = 10_000;

function inlineText(source: { specifier: { case: string | undefined; value?: unknown } } | undefined, what: string): string {
  if (source?.specifier.case !== 'inlineBytes') throw new Error(`${what} is not inline bytes`);
  return Buffer.from(source.specifier.value as Uint8Array).toString('utf8');
}

/** The bundles a validation context holds: per trust domain for the SPIFFE validator, or one plain trusted_ca. */
export function bundlesOf(secret: Secret, trustDomainOfPlainCa: string): X509Bundle[] {
  if (secret.type.case !== 'validationContext') throw new Error(`${secret.name} is not a validation context`);
  const vc = secret.type.value;
  if (vc.customValidatorConfig) {
    if (vc.customValidatorConfig.name !== 'envoy.tls.cert_validator.spiffe') throw new Error(`unexpected validator ${vc.customValidatorConfig.name}`);
    const cfg = fromBinary(SPIFFECertValidatorConfigSchema, vc.customValidatorConfig.typedConfig!.value);
    return cfg.trustDomains.map((t) => X509Bundle.fromPem(TrustDomain.parse(t.name), inlineText(t.trustBundle, `trust bundle of ${t.name}`)));
  }
  return [X509Bundle.fromPem(TrustDomain.parse(trustDomainOfPlainCa), inlineText(vc.trustedCa, `${secret.name} trusted_ca`))];
}

export function tlsCertificateOf(secret: Secret): { certChainPem: string; privateKeyPem: string } {
  if (secret.type.case !== 'tlsCertificate') throw new Error(`${secret.name} is not a tls_certificate`);
  return {
    certChainPem: inlineText(secret.type.value.certificateChain, `${secret.name} certificate_chain`),
    privateKeyPem: inlineText(secret.type.value.privateKey, `${secret.name} private_key`),
  };
}

type Waiter = { test: () => boolean; resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export interface SdsAgentOptions {
  readonly nodeId: string;
  /** Node metadata, e.g. { disable_spiffe_cert_validation: true }. */
  readonly metadata?: JsonObject;
  /** The tls_certificate to serve with and the validation context to verify peers with. */
  readonly certificate: string;
  readonly validation: string;
  /** Trust domain of a plain trusted_ca validation context. */
  readonly trustDomain: string;
}

export class SdsAgent {
  readonly #client: grpc.Client;
  readonly #stream: SotwClient;
  readonly #secrets = new Map<string, Secret>();
  readonly #waiters = new Set<Waiter>();
  readonly #listeners: ((m: TlsMaterial) => void)[] = [];
  /** Every response as received, for assertions on what travelled. */
  readonly responses: DiscoveryResponse[] = [];
  /** The material after each response that changed it, in order. */
  readonly history: TlsMaterial[] = [];
  #material: TlsMaterial | undefined;
  #failed: Error | undefined;
  #draining = false;

  constructor(
    address: string,
    credentials: grpc.ChannelCredentials,
    readonly opts: SdsAgentOptions,
  ) {
    this.#client = new grpc.Client(address, credentials, { 'grpc.ssl_target_name_override': 'trustplane' }); // an IP is no TLS server name (DEP0123)
    const call = this.#client.makeBidiStreamRequest(PATHS.StreamSecrets, (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b);
    this.#stream = new SotwClient(call);
    call.on('data', () => void this.#drain());
    call.on('error', (e: Error) => this.#fail(e));
    this.#stream.send({
      node: { id: opts.nodeId, ...(opts.metadata ? { metadata: opts.metadata } : {}) },
      typeUrl: TYPE_SECRET,
      resourceNames: this.#names(),
    });
  }

  get material(): TlsMaterial | undefined {
    return this.#material;
  }

  /** The latest Secret received under `name`. */
  secret(name: string): Secret | undefined {
    return this.#secrets.get(name);
  }

  /** Called with the new material after every push that changed it. */
  onMaterial(listener: (m: TlsMaterial) => void): void {
    this.#listeners.push(listener);
  }

  /** Resolves once the received pushes make `condition` true (at once if it already is). */
  waitFor(what: string, condition: (m: TlsMaterial | undefined) => boolean): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (condition(this.#material)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        test: () => condition(this.#material),
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(`${this.opts.nodeId}: no push made "${what}" true within ${GUARD_MS} ms`));
        }, GUARD_MS),
      };
      this.#waiters.add(waiter);
    });
  }

  close(): void {
    this.#stream.cancel();
    this.#client.close();
  }

  #names(): string[] {
    return [this.opts.certificate, this.opts.validation];
  }

  async #drain(): Promise<void> {
    // One drain at a time, so responses are applied and ACKed strictly in the order they arrived.
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#stream.responses.length) {
        const resp = await this.#stream.next();
        this.responses.push(resp);
        for (const s of await secretsOf(resp)) this.#secrets.set(s.name, s);
        this.#stream.ack(resp, this.#names());
        this.#apply();
      }
    } catch (e) {
      this.#fail(e as Error);
    } finally {
      this.#draining = false;
    }
  }

  #apply(): void {
    const cert = this.#secrets.get(this.opts.certificate);
    const validation = this.#secrets.get(this.opts.validation);
    if (!cert || !validation) return;
    const material: TlsMaterial = { ...tlsCertificateOf(cert), bundles: bundlesOf(validation, this.opts.trustDomain) };
    const prev = this.#material;
    if (prev && prev.certChainPem === material.certChainPem && sameBundles(prev, material)) return;
    this.#material = material;
    this.history.push(material);
    for (const l of this.#listeners) l(material);
    for (const w of [...this.#waiters]) {
      if (!w.test()) continue;
      clearTimeout(w.timer);
      this.#waiters.delete(w);
      w.resolve();
    }
  }

  #fail(e: Error): void {
    this.#failed = e;
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.reject(e);
    }
    this.#waiters.clear();
  }
}

function sameBundles(a: TlsMaterial, b: TlsMaterial): boolean {
  const key = (m: TlsMaterial) => m.bundles.map((x) => `${x.trustDomain.name}=${x.toPem()}`).join('|');
  return key(a) === key(b);
}
