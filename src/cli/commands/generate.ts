import { dirname, join, relative, resolve } from 'node:path';
import { BootstrapSchema } from '#gen/envoy/config/bootstrap/v3/bootstrap_pb';
import { buildBootstrap, DEFAULT_BOOTSTRAP_OPTIONS, generateService, isGenerated, resourceOptions, tcpXdsEndpoint, type XdsEndpoint } from '../../envoy/index.js';
import { writeFileAtomic } from '../../ca/atomic-file.js';
import { fileError } from '../../io/fs-errors.js';
import { makeDirs } from '../../io/files.js';
import { GOLDEN_DIR, renderGoldenTree, writeTree } from '../../envoy/golden.js';
import { envoyJson, printYaml } from '../../envoy/yaml-print.js';
import { buildGrpcBootstrap, DEFAULT_REFRESH_INTERVAL_MS } from '../../envoy/grpc/bootstrap.js';
import type { MeshModel, Service } from '../../mesh/index.js';
import { defineCommand, UsageError } from '../command.js';
import { dataDir, dataDirOption, meshFile, meshOption, parseDuration, readMesh } from './common.js';
import { SDS_HELP, sdsOptions, sdsPolicyOf } from './common.js';
import type { SdsPolicy } from '../../envoy/index.js';

const xdsOption = { xds: { type: 'string' }, 'tls-dir': { type: 'string' }, ...sdsOptions } as const;
const XDS_HELP = `  --xds unix:PATH | tcp:HOST:PORT
                    how the proxy reaches trustplane; over TCP it authenticates with its node SVID (see
                    \`trustplane token create\`). Default: the Unix socket \`trustplane serve\` opens for the
                    service's first uid principal (<data-dir>/sockets/uid-N.sock), or <data-dir>/xds.sock
  --tls-dir DIR     over TCP: where the node SVID files are (svid.pem, svid_key.pem, bundle.pem)
${SDS_HELP}`;

/** The socket `serve` opens for a service's uid (as root: one per uid the mesh names), else its own. */
function defaultSocket(data: string, service: Service | undefined): string {
  const uid = service?.nodes.find((p) => p.kind === 'uid');
  const self = process.getuid?.() ?? 0;
  return uid && uid.kind === 'uid' && uid.uid !== self && uid.uid !== 0 ? join(data, 'sockets', `uid-${uid.uid}.sock`) : join(data, 'xds.sock');
}

function optionalSds(values: { 'sds-source'?: string; 'sds-initial-fetch-timeout'?: string }): { sds?: SdsPolicy } {
  const sds = sdsPolicyOf(values);
  return sds ? { sds } : {};
}

function xdsEndpoint(xds: string | undefined, tlsDir: string | undefined, data: string, service?: Service): XdsEndpoint {
  const spec = xds ?? `unix:${defaultSocket(data, service)}`;
  if (spec.startsWith('unix:')) return { kind: 'unix', path: resolve(spec.slice(5)) };
  const m = /^tcp:(.+):(\d+)$/.exec(spec);
  if (!m) throw new UsageError(`--xds "${spec}" is neither unix:PATH nor tcp:HOST:PORT`);
  const dir = tlsDir ? resolve(tlsDir) : undefined;
  return tcpXdsEndpoint(m[1]!, Number(m[2]), dir ? { certificateFile: join(dir, 'svid.pem'), privateKeyFile: join(dir, 'svid_key.pem'), caFile: join(dir, 'bundle.pem') } : {});
}

export const generate = defineCommand({
  path: ['generate'],
  summary: 'write Envoy bootstraps, listeners and clusters for every service of a mesh description',
  usage: `Usage: trustplane generate [--mesh FILE] --out DIR [--static] [--xds ...]
       trustplane generate --all-examples     (what \`npm run golden\` runs: examples/*.yaml → envoy/)

Writes DIR/<service>/bootstrap.yaml (ADS for listeners, clusters and secrets; with --static, listeners and
clusters inline and only secrets over SDS), listeners.yaml and clusters.yaml (DiscoveryResponse form, readable by
Envoy's file-based xDS). Files are replaced atomically; other files in DIR are left alone.
  --mesh FILE       the mesh description (default examples/mesh.yaml)
  --out DIR         output directory
  --static          static bootstrap variant
${XDS_HELP}
  --data-dir DIR    the control plane's data directory (default ./.trustplane)`,
  options: { ...meshOption, out: { type: 'string' }, static: { type: 'boolean' }, 'all-examples': { type: 'boolean' }, ...xdsOption, ...dataDirOption },
  async run({ values, io }) {
    if (values['all-examples']) {
      const tree = renderGoldenTree(resolve('examples'));
      writeTree(resolve(GOLDEN_DIR), tree);
      io.stdout.write(`wrote ${tree.size} files under ${GOLDEN_DIR}/\n`);
      return 0;
    }
    if (!values.out) throw new UsageError('--out is required (or --all-examples)');
    const file = meshFile(values.mesh);
    const mesh = readMesh(file);
    const out = resolve(values.out);
    const resources = resourceOptions(optionalSds(values));
    let count = 0;
    for (const service of mesh.services) {
      const xds = xdsEndpoint(values.xds, values['tls-dir'], dataDir(values['data-dir']), service);
      if (!isGenerated(service)) {
        io.stderr.write(`skipped ${service.name}: target ${service.target} has no Envoy generator yet\n`);
        continue;
      }
      const files = generateService(mesh, service, { source: relative(process.cwd(), file) || file, bootstrap: { xds, resources } });
      const chosen: [string, string][] = [...files].flatMap(([name, text]): [string, string][] =>
        name === 'bootstrap-static.yaml' ? [] : name === 'bootstrap.yaml' ? [[name, files.get(values.static ? 'bootstrap-static.yaml' : 'bootstrap.yaml')!]] : [[name, text]],
      );
      for (const [name, text] of chosen) {
        const path = join(out, service.name, name);
        makeDirs(dirname(path), 0o755, 'the output directory');
        try {
          writeFileAtomic(path, text, 0o644);
        } catch (err) {
          throw fileError(err, 'cannot write', path);
        }
        count++;
      }
    }
    io.stdout.write(`wrote ${count} files under ${out}\n`);
    return 0;
  },
});

export const bootstrap = defineCommand({
  path: ['bootstrap'],
  summary: "print one service's Envoy bootstrap to stdout (logs go to stderr)",
  usage: `Usage: trustplane bootstrap --service NAME [--mesh FILE] [--static] [--node-id ID] [--xds ...]
       trustplane bootstrap --service NAME --target grpc [--svid-dir DIR] [--refresh-interval 10s] [--region R] [--zone Z]

  --service NAME    the service whose proxy this bootstrap is for (node.cluster = NAME)
  --mesh FILE       the mesh description (default examples/mesh.yaml)
  --static          listeners and clusters inline, only secrets over SDS
  --node-id ID      node.id (default: the service name)
  --target grpc     print the gRPC xDS bootstrap JSON (GRPC_XDS_BOOTSTRAP_CONFIG) of a service with target: grpc
                    (the default for such a service), reading its certificates from the files that
                    \`trustplane svid write\` (or \`trustplane serve --svid-dir\`) keeps fresh
  --svid-dir DIR    root of those files (default <data-dir>/svids)
  --refresh-interval D
                    how often gRPC re-reads them (default ${DEFAULT_REFRESH_INTERVAL_MS / 1000}s)
  --region R, --zone Z
                    node.locality
${XDS_HELP}
  --data-dir DIR    the control plane's data directory (default ./.trustplane)`,
  options: {
    service: { type: 'string' },
    ...meshOption,
    static: { type: 'boolean' },
    'node-id': { type: 'string' },
    target: { type: 'string' },
    'svid-dir': { type: 'string' },
    'refresh-interval': { type: 'string' },
    region: { type: 'string' },
    zone: { type: 'string' },
    ...xdsOption,
    ...dataDirOption,
  },
  async run({ values, io }) {
    if (!values.service) throw new UsageError('--service is required');
    const mesh = readMesh(meshFile(values.mesh));
    const service = mesh.serviceByName(values.service);
    if (!service) throw new UsageError(`no service "${values.service}" in ${mesh.file}; services: ${mesh.services.map((s) => s.name).join(', ')}`);
    const xds = xdsEndpoint(values.xds, values['tls-dir'], dataDir(values['data-dir']), service);
    if (values.target !== undefined && values.target !== 'grpc' && values.target !== 'envoy') throw new UsageError(`--target "${values.target}" is neither grpc nor envoy`);
    if (values.target === 'grpc' || (values.target === undefined && service.target === 'grpc')) {
      io.stdout.write(`${JSON.stringify(grpcBootstrap(mesh, service, values, xds), null, 2)}\n`);
      return 0;
    }
    if (service.target === 'grpc') throw new UsageError(`service ${service.name} has target grpc: it runs no Envoy; use --target grpc`);
    const boot = buildBootstrap(mesh, service, { ...DEFAULT_BOOTSTRAP_OPTIONS, xds, resources: resourceOptions(optionalSds(values)), static: values.static ?? false, ...(values['node-id'] ? { nodeId: values['node-id'] } : {}) });
    io.stdout.write(printYaml(envoyJson(BootstrapSchema, boot), [`Envoy bootstrap for service ${service.name} (trustplane bootstrap)`]));
    return 0;
  },
});

function grpcBootstrap(
  mesh: MeshModel,
  service: Service,
  values: { 'node-id'?: string; 'svid-dir'?: string; 'refresh-interval'?: string; region?: string; zone?: string; 'data-dir'?: string },
  xds: XdsEndpoint,
): unknown {
  if (service.target !== 'grpc') throw new UsageError(`service ${service.name} has target ${service.target}; --target grpc is for services with target: grpc`);
  return buildGrpcBootstrap(mesh, service, {
    xds,
    svidDir: values['svid-dir'] ? resolve(values['svid-dir']) : join(dataDir(values['data-dir']), 'svids'),
    refreshIntervalMs: values['refresh-interval'] ? parseDuration(values['refresh-interval'], '--refresh-interval') : DEFAULT_REFRESH_INTERVAL_MS,
    locality: { ...(values.region ? { region: values.region } : {}), ...(values.zone ? { zone: values.zone } : {}) },
    ...(values['node-id'] ? { nodeId: values['node-id'] } : {}),
  });
}
