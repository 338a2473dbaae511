// The example meshes, read from examples/ at the repository root (tests are an I/O edge; the parser is not).
import { readFileSync } from 'node:fs';

export const EXAMPLES = ['examples/mesh.yaml', 'examples/federation.yaml', 'examples/gateway.yaml', 'examples/vm-istio.yaml'] as const;

export function readExample(name: string): string {
  return readFileSync(new URL(`../../../${name}`, import.meta.url), 'utf8');
}
