// Mesh revisions in a shared datastore: `trustplane apply` stores a description once it has been validated whole;
// a rollback stores an earlier revision's source again, as a new revision that says which one it restores (the
// history only grows, so every replica and every operator sees the same sequence).
import { createHash } from 'node:crypto';
import type { Datastore, MeshRevision } from '../datastore/index.js';
import { DatastoreError } from '../datastore/index.js';

export const digestOf = (source: string): string => createHash('sha256').update(source).digest('hex');

/** Throws (a MeshLoadError or another TrustplaneError) when the description cannot be served; returns nothing otherwise. */
export type MeshValidator = (source: string, name: string) => void;

export interface ApplyInput {
  readonly source: string;
  /** Where the description came from, for error messages (file name). */
  readonly name: string;
  readonly appliedBy: string;
  readonly now: number;
  readonly validate: MeshValidator;
}

/** Validates, then stores a new revision (or finds the identical latest one). Nothing is stored if it is invalid. */
export async function applyMesh(ds: Datastore, input: ApplyInput): Promise<{ revision: MeshRevision; created: boolean }> {
  input.validate(input.source, input.name);
  return ds.appendMeshRevision({ source: input.source, digest: digestOf(input.source), appliedBy: input.appliedBy, appliedAt: input.now });
}

/** Re-applies revision `to` as a new revision; validated again, since what is valid can depend on files around it. */
export async function rollbackMesh(ds: Datastore, to: number, input: Omit<ApplyInput, 'source' | 'name'>): Promise<{ revision: MeshRevision; created: boolean }> {
  const old = await ds.meshRevision(to);
  if (!old) {
    const latest = (await ds.meshRevision())?.revision;
    throw new DatastoreError('DATASTORE_NOT_FOUND', `mesh revision ${to} is not in the history${latest ? ` (revisions 1..${latest}; see \`trustplane mesh history\`)` : ' (nothing has been applied yet)'}`);
  }
  input.validate(old.source, `revision ${to}`);
  const latest = await ds.meshRevision();
  if (latest && latest.digest === old.digest) return { revision: latest, created: false };
  return ds.appendMeshRevision({ source: old.source, digest: old.digest, appliedBy: input.appliedBy, appliedAt: input.now, rollbackOf: to });
}
