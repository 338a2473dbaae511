// Options and helpers shared by several commands, so one thing has one flag name everywhere.
import { resolve } from 'node:path';
import { defaultServeConfig } from '../../control-plane/config.js';
import { DEFAULT_SDS_POLICY, type SdsPolicy } from '../../envoy/index.js';
import { parseMesh, type MeshModel } from '../../mesh/index.js';
import { readTextFile } from '../../io/files.js';
import { UsageError } from '../command.js';

export const dataDirOption = { 'data-dir': { type: 'string' } } as const;
export const meshOption = { mesh: { type: 'string' } } as const;

export function dataDir(value: string | undefined): string {
  return value ? resolve(value) : defaultServeConfig().dataDir;
}

export function meshFile(value: string | undefined): string {
  return value ? resolve(value) : defaultServeConfig().meshFile;
}

export function readMesh(file: string): MeshModel {
  return parseMesh(readTextFile(file, 'the mesh description'), file);
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses 90s, 10m, 1h, 7d (also combined: 1h30m). */
export function parseDuration(value: string, flag: string): number {
  const parts = [...value.matchAll(/(\d+)(ms|s|m|h|d)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== value) throw new UsageError(`${flag} "${value}" is not a duration (e.g. 90s, 10m, 1h, 7d)`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]!]!, 0);
}

export const sdsOptions = { 'sds-source': { type: 'string' }, 'sds-initial-fetch-timeout': { type: 'string' } } as const;
export const SDS_HELP = `  --sds-source ads|cluster
                    secrets over the proxy's ADS stream (default) or a separate SDS subscription to the xDS cluster
  --sds-initial-fetch-timeout DURATION
                    how long Envoy waits for a secret before activating a listener or cluster without it; default 0s
                    (wait: activating without the secret fails every handshake); the same for every SdsSecretConfig`;

/** The SDS policy the flags ask for, or undefined for the default. */
export function sdsPolicyOf(values: { 'sds-source'?: string; 'sds-initial-fetch-timeout'?: string }): SdsPolicy | undefined {
  if (values['sds-source'] === undefined && values['sds-initial-fetch-timeout'] === undefined) return undefined;
  const source = values['sds-source'] ?? DEFAULT_SDS_POLICY.source;
  if (source !== 'ads' && source !== 'cluster') throw new UsageError(`--sds-source "${source}" is neither ads nor cluster`);
  const t = values['sds-initial-fetch-timeout'];
  const ms = t === undefined ? undefined : t === '0' ? 0 : parseDuration(t, '--sds-initial-fetch-timeout');
  return {
    source,
    svidInitialFetchTimeoutMs: ms ?? DEFAULT_SDS_POLICY.svidInitialFetchTimeoutMs,
    validationInitialFetchTimeoutMs: ms ?? DEFAULT_SDS_POLICY.validationInitialFetchTimeoutMs,
  };
}
