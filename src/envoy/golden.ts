// The golden tree: envoy/<mesh>/<service>/<file> for every examples/*.yaml. This module is the edge that reads
// files (examples in, envoy/ for comparison); everything it renders comes from the pure builders.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { JsonObject } from '@bufbuild/protobuf';
import { ClusterSchema } from '#gen/envoy/config/cluster/v3/cluster_pb';
import { ClusterLoadAssignmentSchema } from '#gen/envoy/config/endpoint/v3/endpoint_pb';
import { ListenerSchema } from '#gen/envoy/config/listener/v3/listener_pb';
import { RouteConfigurationSchema } from '#gen/envoy/config/route/v3/route_pb';
import { parseMesh } from '../mesh/parse.js';
import { generateAll, type GenerateOptions } from './generate.js';
import { buildServiceResources, isGenerated } from './resources.js';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from './type-urls.js';
import { envoyAnyJson, printYaml } from './yaml-print.js';

/** Where the golden tree lives, relative to the repository root. */
export const GOLDEN_DIR = 'envoy';

/** The mesh's name in envoy/: its file name without extension. */
export function meshName(file: string): string {
  return basename(file, extname(file));
}

/**
 * Renders the golden tree for every *.yaml mesh in examplesDir, keyed by path relative to envoy/
 * (`<mesh>/<service>/<file>`), in sorted order. A mesh that does not parse throws its MeshError.
 */
export function renderGoldenTree(examplesDir: string, options: Partial<Omit<GenerateOptions, 'source'>> = {}): Map<string, string> {
  const tree = new Map<string, string>();
  const files = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
  for (const f of files) {
    const source = `${basename(examplesDir)}/${f}`;
    const mesh = parseMesh(readFileSync(join(examplesDir, f), 'utf8'), source);
    for (const [path, text] of generateAll(mesh, { ...options, source })) tree.set(`${meshName(f)}/${path}`, text);
  }
  return new Map([...tree].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Every file under dir, keyed by path relative to dir (with '/'). Missing dir = empty tree. */
export function readTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    let entries: string[];
    try {
      entries = readdirSync(join(dir, rel));
    } catch {
      return;
    }
    for (const e of entries.sort()) {
      const r = rel ? `${rel}/${e}` : e;
      if (statSync(join(dir, r)).isDirectory()) walk(r);
      else out.set(r, readFileSync(join(dir, r), 'utf8'));
    }
  };
  walk('');
  return out;
}

export interface TreeDiff {
  readonly missing: string[];
  readonly extra: string[];
  readonly changed: string[];
}

export function diffTrees(expected: ReadonlyMap<string, string>, actual: ReadonlyMap<string, string>): TreeDiff {
  const missing = [...expected.keys()].filter((k) => !actual.has(k));
  const extra = [...actual.keys()].filter((k) => !expected.has(k));
  const changed = [...expected.keys()].filter((k) => actual.has(k) && actual.get(k) !== expected.get(k));
  return { missing, extra, changed };
}

/** Makes dir hold exactly the tree: files written atomically (temp + rename), files not in the tree removed. */
export function writeTree(dir: string, tree: ReadonlyMap<string, string>): void {
  for (const stale of diffTrees(tree, readTree(dir)).extra) rmSync(join(dir, stale));
  for (const [rel, text] of tree) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  }
}

/**
 * One feature's golden output (test/envoy/testdata/in/<feature>.yaml → out/<feature>.yaml, the way Envoy Gateway
 * keeps its translator testdata): every generated service's resources, by service and type, so a feature's
 * output is reviewed on its own.
 */
export function renderFeatureGolden(text: string, source: string): string {
  const mesh = parseMesh(text, source);
  const services: Record<string, JsonObject> = {};
  for (const service of mesh.services) {
    if (!isGenerated(service)) continue;
    const { listeners, clusters, routes = [], endpoints = [] } = buildServiceResources(mesh, service);
    const out: JsonObject = {};
    if (listeners.length) out['listeners'] = listeners.map((l) => envoyAnyJson(LISTENER_TYPE_URL, ListenerSchema, l));
    if (clusters.length) out['clusters'] = clusters.map((c) => envoyAnyJson(CLUSTER_TYPE_URL, ClusterSchema, c));
    if (routes.length) out['routes'] = routes.map((r) => envoyAnyJson(ROUTE_TYPE_URL, RouteConfigurationSchema, r));
    if (endpoints.length) out['endpoints'] = endpoints.map((e) => envoyAnyJson(ENDPOINT_TYPE_URL, ClusterLoadAssignmentSchema, e));
    services[service.name] = out;
  }
  return printYaml({ services }, [`Generated by trustplane from ${source}.`, 'Do not edit: run `TRUSTPLANE_UPDATE_TESTDATA=1 node scripts/test.mjs envoy/testdata` to regenerate.']);
}
