import { resolve } from 'node:path';
import { parseKeyType } from '../../ca/key-type.js';
import { parseSigningAlgorithm } from '../../jwt/algorithms.js';
import { defaultServeConfig, type ServeConfig } from '../../control-plane/config.js';
import { ControlPlane } from '../../control-plane/control-plane.js';
import { defineCommand, UsageError } from '../command.js';
import { parseDuration, sdsOptions, sdsPolicyOf } from './common.js';
import { afterWriteOf } from './svid-write.js';
import { untilSignal } from '../until-signal.js';
import { makeDirs } from '../../io/files.js';
import { routeGrpcLogs } from '../grpc-log.js';
import { BUNDLE_ENDPOINT_HELP, bundleEndpointOf, bundleEndpointOptions } from './federation.js';
import { parseIdentitySourceSpec } from '../../sources/identity-source-spec.js';
import { DEFAULT_XDS_LIMITS, LIMIT_FLAGS, type XdsLimits } from '../../xds/server/limits.js';

/** --xds-max-* flags: each sets one XdsLimits field (named in LIMIT_FLAGS). */
const limitOptions = Object.fromEntries(Object.values(LIMIT_FLAGS).map((f) => [f.slice(2), { type: 'string' as const }]));
function limitsOf(values: Record<string, unknown>): Partial<XdsLimits> | undefined {
  const out: Partial<Record<keyof XdsLimits, number>> = {};
  for (const [key, flag] of Object.entries(LIMIT_FLAGS) as [keyof XdsLimits, string][]) {
    const v = values[flag.slice(2)];
    if (typeof v !== 'string') continue;
    if (!/^[1-9][0-9]*$/.test(v)) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a positive whole number`);
    out[key] = Number(v);
  }
  return Object.keys(out).length ? out : undefined;
}

const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : ({ [key]: value } as { [P in K]: V }));

export const serve = defineCommand({
  path: ['serve'],
  summary: 'run the control plane: embedded CA, SDS/ADS over a Unix socket and TLS, status and metrics',
  usage: `Usage: trustplane serve [options]

With no options (what \`npm start\` runs): the embedded CA and data directory ./.trustplane, the mesh description
examples/mesh.yaml (reloaded when it changes), xDS on ./.trustplane/xds.sock and on 127.0.0.1:18000 (TLS, callers
authenticate with a node SVID), and /live /ready /metrics /status /mesh /rollout on http://127.0.0.1:18080.
Only one \`trustplane serve\` may use a data directory at a time (it holds <data-dir>/serve.lock).
  --mesh FILE            mesh description
  --data-dir DIR         CA keys (0600), join tokens and the Unix socket live here
  --uds PATH             xDS Unix socket ('' = none); only its owner's uid may connect
  --tcp HOST:PORT        xDS over TLS ('' = none)
  --admin HOST:PORT      HTTP endpoints ('' = none): /live /ready /metrics for anyone who can reach them; the
                         rest (proxy identities) for the operator only, with the token serve writes to
                         <data-dir>/admin-token (0600) or a one-time login link for a browser
  --admin-remote         allow --admin on an address other hosts can reach (refused otherwise)
  --ca-key-type T        ec-p256 (default) | ec-p384 | rsa-2048 | rsa-3072
  --svid-key-type T      key type of SVIDs (default ec-p256)
  --ca-ttl DURATION      lifetime of each CA certificate (default 7d); rotation at about half of it
  --svid-ttl DURATION    lifetime of SVIDs (default 1h); renewed at about half of it
  --upstream-cert FILE   sign with an intermediate CA issued by this upstream CA ...
  --upstream-key FILE    ... and its key (PEM)
  --svid-dir DIR         write SVID, key (0600) and bundle files of proxyless gRPC services (target grpc) here,
                         renewed with the SVIDs: DIR/<trust domain><path>/{svid.pem,svid_key.pem,svid_bundle.pem}
  --svid-command ARGV    run after each such write (split on spaces, no shell)
  --workload-api-socket PATH   serve the SPIFFE Workload API to applications on this Unix socket
                         (SPIFFE_ENDPOINT_SOCKET=unix://PATH); as root, also PATH's directory/uid-N/<name> per uid
  --identity-source SRC  embedded-ca (default) | workload-api:unix:///run/spire/sockets/agent.sock
                         (take SVIDs and bundles from an existing SPIFFE Workload API, e.g. a SPIRE agent)
  --sds-source, --sds-initial-fetch-timeout   how generated configs ask for secrets (see \`trustplane generate --help\`)
  --evidence-window DURATION   sliding window of the access-log evidence the STRICT gate reads (default 24h)
  --evidence-sources N         distinct sources kept per port before the rest count as "other" (default 32)
${BUNDLE_ENDPOINT_HELP}
  --jwt-algorithm ALG    JWT-SVID signing keys: ES256 (default) | ES384 | RS256
  --jwt-ttl DURATION     default lifetime of JWT-SVIDs (default 5m, at most 1h)
  --oidc-issuer URL      https URL put into every JWT-SVID as iss (for cloud token services / OIDC relying parties)
  --oidc-discovery HOST:PORT
                         serve URL/.well-known/openid-configuration and URL/keys (the JWT authorities) here ...
  --oidc-cert FILE       ... over HTTPS with this certificate chain ...
  --oidc-key FILE        ... and key (PEM; both reloaded when they change), or
  --oidc-behind-tls-proxy  plain HTTP, for a TLS-terminating proxy in front (the issuer stays https)
  --datastore URL        run as one of several replicas on a shared PostgreSQL (postgres://USER:PASSWORD@HOST:PORT/DB):
                         the mesh comes from \`trustplane apply\` revisions (--mesh is applied as revision 1 only if
                         none exists), join tokens, the trust bundle and proxy status are shared
  --replica-id ID        this replica's name in status and in the shared bundle (default: the host name)
  --heartbeat DURATION   how often a replica writes its proxies' status (default 2s) ...
  --heartbeat-timeout DURATION   ... and after how long without one it counts as dead (default 7s; also the
                         rollout lease's lifetime)
  --insecure             DEVELOPMENT ONLY: no TLS on TCP, and any caller may fetch any identity and its key
What one xDS caller may ask (over a limit: the stream ends with RESOURCE_EXHAUSTED or INVALID_ARGUMENT):
${(Object.entries(LIMIT_FLAGS) as [keyof XdsLimits, string][]).map(([k, f]) => `  ${`${f} N`.padEnd(45)}default ${DEFAULT_XDS_LIMITS[k]}`).join('\n')}`,
  options: {
    mesh: { type: 'string' },
    'data-dir': { type: 'string' },
    uds: { type: 'string' },
    tcp: { type: 'string' },
    admin: { type: 'string' },
    'admin-remote': { type: 'boolean' },
    'ca-key-type': { type: 'string' },
    'svid-key-type': { type: 'string' },
    'ca-ttl': { type: 'string' },
    'svid-ttl': { type: 'string' },
    'upstream-cert': { type: 'string' },
    'upstream-key': { type: 'string' },
    'svid-dir': { type: 'string' },
    ...sdsOptions,
    'svid-command': { type: 'string' },
    'evidence-window': { type: 'string' },
    'evidence-sources': { type: 'string' },
    'workload-api-socket': { type: 'string' },
    'identity-source': { type: 'string' },
    insecure: { type: 'boolean' },
    datastore: { type: 'string' },
    'replica-id': { type: 'string' },
    heartbeat: { type: 'string' },
    'heartbeat-timeout': { type: 'string' },
    ...bundleEndpointOptions,
    'jwt-algorithm': { type: 'string' },
    'jwt-ttl': { type: 'string' },
    'oidc-issuer': { type: 'string' },
    'oidc-discovery': { type: 'string' },
    'oidc-cert': { type: 'string' },
    'oidc-key': { type: 'string' },
    'oidc-behind-tls-proxy': { type: 'boolean' },
    ...limitOptions,
  },
  async run({ values, io }) {
    const d = defaultServeConfig();
    const dataDir = values['data-dir'] !== undefined ? resolve(values['data-dir']) : d.dataDir;
    if (values['svid-command'] && !values['svid-dir']) throw new UsageError('--svid-command goes with --svid-dir');
    if (!!values['upstream-cert'] !== !!values['upstream-key']) throw new UsageError('--upstream-cert and --upstream-key go together');
    const sources = values['evidence-sources'];
    if (sources !== undefined && !/^[1-9]\d{0,5}$/.test(sources)) throw new UsageError(`--evidence-sources "${sources}" is not a whole number from 1 to 999999`);
    const traffic = {
      ...(values['evidence-window'] ? { windowMs: parseDuration(values['evidence-window'], '--evidence-window') } : {}),
      ...(sources ? { maxSourcesPerPort: Number(sources) } : {}),
    };
    if (values['identity-source']?.startsWith('workload-api:')) {
      const caOnly = (['upstream-cert', 'upstream-key', 'ca-key-type', 'svid-key-type', 'ca-ttl', 'svid-ttl', 'jwt-algorithm', 'jwt-ttl', 'oidc-issuer', 'oidc-discovery'] as const).filter((k) => values[k] !== undefined);
      if (caOnly.length) throw new UsageError(`${caOnly.map((k) => `--${k}`).join(', ')}: for the embedded CA; with --identity-source workload-api:... the agent issues the SVIDs`);
    }
    if (!values.datastore) {
      const replicaOnly = (['replica-id', 'heartbeat', 'heartbeat-timeout'] as const).filter((k) => values[k] !== undefined);
      if (replicaOnly.length) throw new UsageError(`${replicaOnly.map((k) => `--${k}`).join(', ')}: for replicas, which need --datastore postgres://...`);
    } else if (values['identity-source']?.startsWith('workload-api:')) {
      throw new UsageError('--datastore with --identity-source workload-api: replicas sign with embedded CAs of their own; with SPIRE, run one trustplane per SPIRE agent instead');
    }
    const heartbeatMs = values.heartbeat ? parseDuration(values.heartbeat, '--heartbeat') : undefined;
    const heartbeatTimeoutMs = values['heartbeat-timeout'] ? parseDuration(values['heartbeat-timeout'], '--heartbeat-timeout') : undefined;
    if ((heartbeatTimeoutMs ?? 7_000) < 2 * (heartbeatMs ?? 2_000)) throw new UsageError('--heartbeat-timeout must be at least twice --heartbeat (one slow write must not make a replica look dead)');
    const oidc = oidcConfigOf(values);
    const config: ServeConfig = {
      dataDir,
      meshFile: values.mesh !== undefined ? resolve(values.mesh) : d.meshFile,
      unixSocket: values.uds !== undefined ? (values.uds && resolve(values.uds)) : resolve(dataDir, 'xds.sock'),
      tcpAddress: values.tcp ?? d.tcpAddress,
      adminAddress: values.admin ?? d.adminAddress,
      adminRemote: values['admin-remote'] ?? false,
      insecure: values.insecure ?? false,
      ...(values['ca-key-type'] ? { caKeyType: parseKeyType(values['ca-key-type'], '--ca-key-type') } : {}),
      ...(values['svid-key-type'] ? { svidKeyType: parseKeyType(values['svid-key-type'], '--svid-key-type') } : {}),
      ...(values['ca-ttl'] ? { caTtlMs: parseDuration(values['ca-ttl'], '--ca-ttl') } : {}),
      ...(values['svid-ttl'] ? { svidTtlMs: parseDuration(values['svid-ttl'], '--svid-ttl') } : {}),
      ...optional('sds', sdsPolicyOf(values)),
      traffic,
      ...optional('xdsLimits', limitsOf(values)),
      ...(values['svid-dir'] ? { svidFiles: { dir: resolve(values['svid-dir']), ...optional('afterWrite', afterWriteOf({ ...(values['svid-command'] ? { command: values['svid-command'] } : {}) })) } } : {}),
      ...optional('bundleEndpoint', bundleEndpointOf(values)),
      ...(values['workload-api-socket'] ? { workloadApiSocket: resolve(values['workload-api-socket']) } : {}),
      ...(values['identity-source'] ? { identitySource: parseIdentitySourceSpec(values['identity-source']) } : {}),
      ...(values.datastore
        ? { replica: { url: values.datastore, ...optional('bootstrapMesh', values.mesh !== undefined ? resolve(values.mesh) : undefined), ...optional('id', values['replica-id']), ...optional('heartbeatMs', heartbeatMs), ...optional('heartbeatTimeoutMs', heartbeatTimeoutMs) } }
        : {}),
      ...(values['jwt-algorithm'] || values['jwt-ttl']
        ? { jwt: { ...optional('algorithm', values['jwt-algorithm'] ? parseSigningAlgorithm(values['jwt-algorithm'], '--jwt-algorithm') : undefined), ...optional('tokenTtlMs', values['jwt-ttl'] ? parseDuration(values['jwt-ttl'], '--jwt-ttl') : undefined) } }
        : {}),
      ...optional('oidc', oidc),
      ...(values['upstream-cert'] ? { upstream: { certFile: resolve(values['upstream-cert']), keyFile: resolve(values['upstream-key']!) } } : {}),
    };
    // The SVID files' directory is checked now: the writer only logs a failed write (and retries it at the next
    // renewal), which must not be how a wrong --svid-dir is found out.
    if (config.svidFiles) makeDirs(config.svidFiles.dir, 0o700, 'the SVID directory (--svid-dir)');
    const logger = io.logger();
    routeGrpcLogs(logger);
    const cp = await ControlPlane.start(config, { logger });
    const svc = cp.mesh.services[0]?.name ?? 'SERVICE';
    io.stdout.write(
      [
        `trustplane is serving trust domain ${cp.mesh.trustDomain.name} (${cp.mesh.services.length} services from ${cp.replica ? `${cp.meshState.file}, replica ${cp.replica.id} of the datastore` : config.meshFile})`,
        ...cp.unixSockets.map((s) => `  xDS (SDS + ADS), Unix socket: ${s}`),
        ...cp.workloadApiSockets.map((s) => `  SPIFFE Workload API (uid ${s.uid}): SPIFFE_ENDPOINT_SOCKET=unix://${s.path}`),
        ...(config.identitySource?.kind === 'workload-api' ? [`  identities from:             the Workload API at ${config.identitySource.address.uri}`] : []),
        ...(cp.tcpAddress ? [`  xDS (SDS + ADS), TLS:         ${cp.tcpAddress}${config.insecure ? ' (INSECURE: plaintext, no authorization)' : ` (presents ${cp.serverSpiffeId})`}`] : []),
        ...(cp.bundleEndpoint ? [`  SPIFFE bundle endpoint:      https://${cp.bundleEndpoint.address}/ (${cp.bundleEndpoint.profile}${cp.bundleEndpoint.profile === 'https_spiffe' ? `, endpoint SPIFFE ID ${cp.serverSpiffeId}` : ''})`] : []),
        ...(cp.oidcDiscovery ? [`  OIDC discovery:              ${cp.oidcDiscovery.scheme}://${cp.oidcDiscovery.address}  (issuer ${config.oidc!.issuer})`] : []),
        ...(cp.adminAddress
          ? [
              `  health and metrics:          http://${cp.adminAddress}/live  /ready  /metrics`,
              `  operator pages (dashboard, status, rollout): token in ${config.dataDir}/admin-token; in a browser, open once:`,
              `                               ${cp.adminLoginUrl()}`,
              `  migration dashboard:         http://${cp.adminAddress}/dashboard  (the link above signs the browser in)`,
            ]
          : []),
        '',
        'Point an Envoy at it:',
        `  npx trustplane bootstrap --service ${svc} > envoy-${svc}.yaml && envoy -c envoy-${svc}.yaml`,
        ...(cp.tcpAddress
          ? [
              `  over TCP: npx trustplane token create --node NAME${cp.replica ? ' --datastore URL' : ''}   (then, on that node:)`,
              `            npx trustplane node join --server ${cp.tcpAddress} --trust-domain ${cp.mesh.trustDomain.name} --bundle BUNDLE.pem --token TOKEN --dir DIR`,
              `            npx trustplane bootstrap --service SERVICE --xds tcp:${cp.tcpAddress} --tls-dir DIR > envoy.yaml`,
            ]
          : []),
        `  npx trustplane status${values['data-dir'] !== undefined ? ` --data-dir ${config.dataDir}` : ''}        shows every connected proxy`,
        '',
      ].join('\n'),
    );
    await untilSignal(async (signal) => {
      logger.info({ signal }, 'shutting down: proxies are told to reconnect elsewhere');
      await cp.close();
    });
    return 0;
  },
});

/** The OIDC settings the flags ask for; the discovery endpoint needs an issuer and a TLS decision. */
function oidcConfigOf(values: Record<string, string | boolean | undefined>): ServeConfig['oidc'] {
  const issuer = values['oidc-issuer'] as string | undefined;
  const address = values['oidc-discovery'] as string | undefined;
  const cert = values['oidc-cert'] as string | undefined;
  const key = values['oidc-key'] as string | undefined;
  const proxy = values['oidc-behind-tls-proxy'] === true;
  if (!address && (cert || key || proxy)) throw new UsageError('--oidc-cert, --oidc-key and --oidc-behind-tls-proxy go with --oidc-discovery');
  if (!issuer) {
    if (address) throw new UsageError('--oidc-discovery needs --oidc-issuer (the https URL relying parties know the issuer by)');
    return undefined;
  }
  if (!address) return { issuer };
  if (!!cert !== !!key) throw new UsageError('--oidc-cert and --oidc-key go together');
  if (cert && proxy) throw new UsageError('--oidc-behind-tls-proxy serves plain HTTP: drop it, or drop --oidc-cert/--oidc-key');
  if (!cert && !proxy) throw new UsageError('--oidc-discovery needs --oidc-cert and --oidc-key (HTTPS), or --oidc-behind-tls-proxy (plain HTTP behind a TLS-terminating proxy)');
  return { issuer, address, ...(cert ? { tls: { certFile: resolve(cert), keyFile: resolve(key!) } } : { behindTlsProxy: true }) };
}
