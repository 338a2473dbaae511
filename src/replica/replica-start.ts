// How `trustplane serve --datastore postgres://...` starts: open the datastore as this replica, find what to serve
// (the newest revision with a recorded rollout decision; on a new deployment the --mesh file is applied as revision
// 1 if nothing was applied yet), and load it the way serve loads a file.
import type { Clock } from '../clock.js';
import { loadMeshText, MeshLoadError, type LoadedMesh } from '../control-plane/mesh-loader.js';
import type { MeshRevision } from '../datastore/index.js';
import type { Logger } from '../observe/log.js';
import { initialState, planRollout, type RolloutState } from '../rollout/index.js';
import { readFileSync } from 'node:fs';
import { Replica } from './replica.js';
import type { GateRecord } from './replicated-gate.js';

export interface ReplicaConfig {
  /** postgres://USER:PASSWORD@HOST:PORT/DB */
  readonly url: string;
  /** Default: the host name. */
  readonly id?: string;
  readonly heartbeatMs?: number;
  readonly heartbeatTimeoutMs?: number;
  readonly meshPollMs?: number;
  /** Least time between heartbeats written on news (an ACK of a pending step, a switch); default 100 ms. */
  readonly minBeatGapMs?: number;
  /** A description file (serve --mesh, given explicitly) applied as revision 1 when the datastore holds none yet. */
  readonly bootstrapMesh?: string;
}

export interface ReplicaStart {
  readonly replica: Replica;
  readonly revision: number;
  readonly decision: number;
  readonly state: RolloutState;
  /** The STRICT gate's word recorded with that decision, if any. */
  readonly gate?: readonly GateRecord[];
  readonly mesh: LoadedMesh;
}

export const revisionName = (rev: Pick<MeshRevision, 'revision'>): string => `mesh revision ${rev.revision}`;

/** Loads a stored revision as serve loads a file; a replica keeps the trust domain it started with. */
export function loadRevision(rev: MeshRevision, trustDomain?: string): LoadedMesh {
  const mesh = loadMeshText(rev.source, revisionName(rev));
  if (trustDomain !== undefined && mesh.model.trustDomain.name !== trustDomain) {
    throw new MeshLoadError('MESH_TRUST_DOMAIN_CHANGED', `${revisionName(rev)}: trustDomain changed from ${trustDomain} to ${mesh.model.trustDomain.name}; a running replica keeps its trust domain (restart every replica to change it)`, ['trustDomain: changing it needs a restart']);
  }
  return mesh;
}

export async function startReplica(c: ReplicaConfig, o: { clock: Clock; logger: Logger }): Promise<ReplicaStart> {
  const replica = await Replica.open({
    url: c.url,
    ...(c.id !== undefined ? { id: c.id } : {}),
    clock: o.clock,
    logger: o.logger.child({ component: 'replica' }),
    ...(c.heartbeatMs !== undefined ? { heartbeatMs: c.heartbeatMs } : {}),
    ...(c.heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMs: c.heartbeatTimeoutMs, leaseTtlMs: c.heartbeatTimeoutMs } : {}),
    ...(c.meshPollMs !== undefined ? { meshPollMs: c.meshPollMs } : {}),
    ...(c.minBeatGapMs !== undefined ? { minBeatGapMs: c.minBeatGapMs } : {}),
  });
  try {
    await replica.firstRevision(c.bootstrapMesh, (f) => readFileSync(f, 'utf8'), (source, name) => void loadMeshText(source, name));
    const start = await replica.startingPoint((rev) => initialState(planRollout(loadRevision(rev).model)));
    return { replica, revision: start.revision.revision, decision: start.decision, state: start.state, ...(start.gate ? { gate: start.gate } : {}), mesh: loadRevision(start.revision) };
  } catch (err) {
    await replica.close();
    throw err;
  }
}
