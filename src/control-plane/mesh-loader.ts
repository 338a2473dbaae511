// Reading a mesh description from disk: the file, then its federated trust bundles. Either everything loads and
// the result can be swapped in whole, or the problems come back and nothing changes.
import { readFileSync } from 'node:fs';
import { TrustplaneError } from '../errors.js';
import { checkMesh, formatProblem, type MeshModel } from '../mesh/index.js';
import { X509Bundle } from '../spiffe/bundle.js';

export interface LoadedMesh {
  readonly model: MeshModel;
  /** Bundles of the federated trust domains that name a bundleFile, loaded from those files. */
  readonly federatedBundles: readonly X509Bundle[];
}

export class MeshLoadError extends TrustplaneError {
  constructor(
    code: string,
    message: string,
    /** One line per problem, `file:line:col: path: message`. */
    readonly problems: readonly string[],
  ) {
    super(code, message);
  }
}

export function loadMesh(file: string): LoadedMesh {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new MeshLoadError('MESH_FILE_UNREADABLE', `mesh description ${file} cannot be read (${reason})`, [`${file}: cannot be read (${reason})`]);
  }
  return loadMeshText(text, file);
}

/**
 * A description given as text (a stored mesh revision, or a file already read): checked whole, then its federated
 * bundle files are read. `name` is where the text came from, for file:line:column in problems.
 */
export function loadMeshText(text: string, file: string): LoadedMesh {
  const checked = checkMesh(text, file);
  if (!checked.ok) {
    const lines = checked.problems.map(formatProblem);
    throw new MeshLoadError('MESH_INVALID', `mesh description ${file} has ${lines.length} problem(s):\n  ${lines.join('\n  ')}`, lines);
  }
  const model = checked.model;
  const federatedBundles: X509Bundle[] = [];
  const problems: string[] = [];
  for (const f of model.federation) {
    if (!f.bundleFile) continue;
    const where = `${file}: ${f.path}.bundleFile ${f.bundleFile}`;
    try {
      const data = readFileSync(f.bundleFile, 'utf8');
      federatedBundles.push(f.format === 'spiffe' ? X509Bundle.fromSpiffeJson(f.trustDomain, data) : X509Bundle.fromPem(f.trustDomain, data));
    } catch (err) {
      const reason = err instanceof TrustplaneError ? err.message : ((err as NodeJS.ErrnoException).code ?? (err as Error).message);
      problems.push(`${where}: ${reason}`);
    }
  }
  if (problems.length) throw new MeshLoadError('MESH_BUNDLE_INVALID', `mesh description ${file}: federated bundles could not be loaded:\n  ${problems.join('\n  ')}`, problems);
  return { model, federatedBundles };
}
