// `trustplane apply`, `mesh history`, `mesh rollback`: the mesh description of replicas that share a datastore.
// Each is validated whole where it is applied (the same loader `serve` uses), so a bad description is refused
// before any replica sees it.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { loadMeshText } from '../../control-plane/mesh-loader.js';
import { openDatastore, type Datastore } from '../../datastore/index.js';
import { applyMesh, rollbackMesh } from '../../replica/mesh-revisions.js';
import { defineCommand, UsageError } from '../command.js';
import { dataDir, dataDirOption, meshFile, meshOption } from './common.js';

const datastoreOption = { datastore: { type: 'string' } } as const;
const DATASTORE_HELP = `  --datastore URL   postgres://USER:PASSWORD@HOST:PORT/DB shared by the replicas (default: the embedded
                    datastore in --data-dir); the password may also come from PGPASSWORD
  --data-dir DIR    the data directory of the embedded datastore (default ./.trustplane)`;

async function withDatastore<T>(values: { datastore?: string; 'data-dir'?: string }, fn: (ds: Datastore) => Promise<T>): Promise<T> {
  const ds = await openDatastore({ ...(values.datastore ? { url: values.datastore } : {}), dataDir: dataDir(values['data-dir']) });
  try {
    return await fn(ds);
  } finally {
    await ds.close();
  }
}

const appliedBy = (): string => {
  const u = userInfo();
  return `${u.username} (uid ${u.uid})`;
};

const validate = (source: string, name: string): void => void loadMeshText(source, name);

export const apply = defineCommand({
  path: ['apply'],
  summary: 'store a mesh description as the next revision that every replica serves',
  usage: `Usage: trustplane apply --mesh FILE [--datastore URL]

Validates the description whole (exit 1 with every problem and its file:line:column, nothing stored), then stores
it as a new revision; every \`serve --datastore\` replica switches to it. Applying the description in force again
changes nothing. Bundle files the description names must exist at the same paths on every replica.
  --mesh FILE       the mesh description
${DATASTORE_HELP}`,
  options: { ...meshOption, ...datastoreOption, ...dataDirOption, json: { type: 'boolean' } },
  async run({ values, io }) {
    if (!values.mesh) throw new UsageError('--mesh is required');
    const file = meshFile(values.mesh);
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read mesh description ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const r = await withDatastore(values, (ds) => applyMesh(ds, { source, name: file, appliedBy: appliedBy(), now: Date.now(), validate }));
    if (values.json) io.stdout.write(`${JSON.stringify({ revision: r.revision.revision, digest: r.revision.digest, created: r.created })}\n`);
    else io.stdout.write(r.created ? `applied ${file} as mesh revision ${r.revision.revision}\n` : `${file} is already mesh revision ${r.revision.revision}; nothing changed\n`);
    return 0;
  },
});

export const meshHistory = defineCommand({
  path: ['mesh', 'history'],
  summary: 'list the applied mesh revisions, newest first',
  usage: `Usage: trustplane mesh history [--limit N] [--json] [--datastore URL]

  --limit N         how many revisions (default 20)
${DATASTORE_HELP}`,
  options: { limit: { type: 'string' }, json: { type: 'boolean' }, ...datastoreOption, ...dataDirOption },
  async run({ values, io }) {
    const limit = values.limit === undefined ? 20 : Number(values.limit);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit "${values.limit}" is not a whole number from 1 to 1000`);
    const history = await withDatastore(values, (ds) => ds.meshHistory(limit));
    if (values.json) {
      io.stdout.write(`${JSON.stringify(history.map((h) => ({ ...h, appliedAt: new Date(h.appliedAt).toISOString() })), null, 2)}\n`);
      return 0;
    }
    if (!history.length) {
      io.stdout.write('no mesh revision has been applied yet: trustplane apply --mesh FILE\n');
      return 0;
    }
    const rows = history.map((h) => [String(h.revision), new Date(h.appliedAt).toISOString(), h.appliedBy, h.digest.slice(0, 12), h.rollbackOf ? `rollback to ${h.rollbackOf}` : '']);
    const head = ['REVISION', 'APPLIED', 'BY', 'DIGEST', ''];
    const widths = head.map((_, i) => Math.max(head[i]!.length, ...rows.map((r) => r[i]!.length)));
    for (const r of [head, ...rows]) io.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
    return 0;
  },
});

export const meshRollback = defineCommand({
  path: ['mesh', 'rollback'],
  summary: 'apply an earlier mesh revision again, as a new revision',
  usage: `Usage: trustplane mesh rollback --to REVISION [--datastore URL]

Validates the earlier revision again and stores it as the next revision (the history only grows, so every replica
and \`mesh history\` show the rollback).
  --to REVISION     the revision to go back to (see \`trustplane mesh history\`)
${DATASTORE_HELP}`,
  options: { to: { type: 'string' }, ...datastoreOption, ...dataDirOption },
  async run({ values, io }) {
    const to = Number(values.to);
    if (values.to === undefined || !Number.isSafeInteger(to) || to < 1) throw new UsageError('--to REVISION is required: a revision number from `trustplane mesh history`');
    const r = await withDatastore(values, (ds) => rollbackMesh(ds, to, { appliedBy: appliedBy(), now: Date.now(), validate }));
    io.stdout.write(r.created ? `mesh revision ${r.revision.revision} restores revision ${to}\n` : `revision ${to} is already in force (revision ${r.revision.revision}); nothing changed\n`);
    return 0;
  },
});
