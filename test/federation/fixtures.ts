// Shared parts of the federation tests: trust domains run by real control planes (ControlPlane.start, what
// `trustplane serve` runs) on one manual clock, a Web PKI made here for https_web, and an SDS agent per domain.
import * as grpc from '@grpc/grpc-js';
import { webcrypto, X509Certificate } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManualClock } from '../../src/clock.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import type { ServeConfig } from '../../src/control-plane/config.js';
import type { BundleEndpointConfig, FederationClientConfig } from '../../src/federation/config.js';
import { captureLog } from '../xds/transport/harness.js';
import { SdsAgent } from '../e2e/sds-agent.js';
import * as x509 from '../../src/spiffe/x509-lib.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 86_400_000;

export const UID = process.getuid?.() ?? 0;

export interface WebPki {
  readonly caPem: string;
  /** A server certificate for 127.0.0.1 and localhost, and its key (PEM). */
  issue(hosts: { ips?: string[]; dns?: string[] }): Promise<{ certPem: string; keyPem: string; cert: X509Certificate }>;
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

/** A private Web PKI: a root CA and server certificates for https_web endpoints. */
export async function webPki(name = 'trustplane test web CA'): Promise<WebPki> {
  const now = Date.now();
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 30 * DAY),
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return {
    caPem: ca.toString('pem'),
    async issue(hosts) {
      const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
      const cert = await x509.X509CertificateGenerator.create({
        subject: `CN=${hosts.dns?.[0] ?? hosts.ips?.[0] ?? 'server'}`,
        issuer: ca.subject,
        notBefore: new Date(now - DAY),
        notAfter: new Date(now + 30 * DAY),
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: ALG,
        serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^[89a-f]/, '1'),
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.SubjectAlternativeNameExtension([...(hosts.dns ?? []).map((value) => ({ type: 'dns' as const, value })), ...(hosts.ips ?? []).map((value) => ({ type: 'ip' as const, value }))]),
          await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
        ],
      });
      return { certPem: cert.toString('pem'), keyPem: await pkcs8Pem(keys.privateKey), cert: new X509Certificate(Buffer.from(cert.rawData)) };
    },
  };
}

export interface FederationYaml {
  readonly trustDomain: string;
  readonly bundleFile?: string;
  readonly bundleEndpoint?: { url: string; profile: string; endpointSpiffeId?: string };
}

/** A mesh description with one service held by this process's uid, federating with `federation`. */
export function meshYaml(trustDomain: string, service: string, federation: readonly FederationYaml[]): string {
  const lines = [`trustDomain: ${trustDomain}`, 'defaultMode: STRICT'];
  if (federation.length) {
    lines.push('federation:');
    for (const f of federation) {
      lines.push(`  - trustDomain: ${f.trustDomain}`);
      if (f.bundleFile) lines.push(`    bundleFile: ${f.bundleFile}`);
      if (f.bundleEndpoint) {
        lines.push('    bundleEndpoint:');
        lines.push(`      url: ${f.bundleEndpoint.url}`);
        lines.push(`      profile: ${f.bundleEndpoint.profile}`);
        if (f.bundleEndpoint.endpointSpiffeId) lines.push(`      endpointSpiffeId: ${f.bundleEndpoint.endpointSpiffeId}`);
      }
    }
  }
  lines.push(
    'services:',
    `  - name: ${service}`,
    `    spiffeId: ${serviceId(trustDomain, service)}`,
    `    nodes: [uid:${UID}]`,
    '    inbound:',
    '      - port: 15006',
    '        appPort: 8080',
    '        protocol: tcp',
    '    allowedCallers:',
    ...[trustDomain, ...federation.map((f) => f.trustDomain)].map((td) => `      - trustDomain: ${td}`),
  );
  return `${lines.join('\n')}\n`;
}

export const serviceId = (td: string, service: string): string => `spiffe://${td}/ns/shop/sa/${service}`;
export const serverId = (td: string): string => `spiffe://${td}/trustplane/server`;

export interface Domain {
  readonly td: string;
  readonly dir: string;
  readonly meshFile: string;
  readonly cp: ControlPlane;
  readonly logText: () => string;
  /** The bundle endpoint's URL. */
  readonly url: string;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** `trustplane serve` for trust domain `td` in `dir`, with a bundle endpoint on a free loopback port. */
export async function startDomain(opts: {
  td: string;
  service: string;
  dir: string;
  clock: ManualClock;
  endpoint?: Omit<BundleEndpointConfig, 'address'> | { profile: 'https_web'; certFile: string; keyFile: string; refreshHintSeconds?: number };
  federation?: readonly FederationYaml[];
  client?: FederationClientConfig;
  random?: () => number;
}): Promise<Domain> {
  mkdirSync(opts.dir, { recursive: true });
  const meshFile = join(opts.dir, 'mesh.yaml');
  writeFileSync(meshFile, meshYaml(opts.td, opts.service, opts.federation ?? []));
  const dataDir = join(opts.dir, 'data');
  const captured = captureLog();
  const config: ServeConfig = {
    dataDir,
    meshFile,
    unixSocket: join(dataDir, 'xds.sock'),
    tcpAddress: '',
    adminAddress: '127.0.0.1:0',
    insecure: false,
    drainMs: 0,
    ...(opts.endpoint ? { bundleEndpoint: { address: '127.0.0.1:0', ...opts.endpoint } as BundleEndpointConfig } : {}),
    ...(opts.client ? { federation: opts.client } : {}),
  };
  const cp = await ControlPlane.start(config, { clock: opts.clock, logger: captured.log, watch: false, random: opts.random ?? (() => 0.5) });
  return { td: opts.td, dir: opts.dir, meshFile, cp, logText: captured.text, url: cp.bundleEndpoint ? `https://${cp.bundleEndpoint.address}/` : '' };
}

/** An SDS agent of `d` for its service's SVID and the ALL validation context, over the control plane's Unix socket. */
export function agentOf(d: Domain, service: string, validation: { name: string; trustDomain: string } = { name: 'ALL', trustDomain: d.td }): SdsAgent {
  return new SdsAgent(`unix:${d.cp.unixSockets[0]}`, grpc.credentials.createInsecure(), {
    nodeId: `${service}-proxy-${validation.name}`,
    certificate: serviceId(d.td, service),
    validation: validation.name,
    trustDomain: validation.trustDomain,
  });
}

/** One GET of an https URL with the given trust anchors; the body and the certificate the server presented. */
export function httpsGet(url: string, tlsOpts: { ca: string | string[]; checkServerIdentity?: () => Error | undefined; maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' }): Promise<{ status: number; body: string; headers: Record<string, unknown>; peer: X509Certificate }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, ...tlsOpts }, (res) => {
      const peer = new X509Certificate((res.socket as import('node:tls').TLSSocket).getPeerCertificate().raw);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, peer }));
    });
    req.on('error', reject);
    req.end();
  });
}
