
import { lintMesh, meshJsonSchema } from '../../mesh/index.js';
import { defineCommand } from '../command.js';
import { meshFile, meshOption, readMesh } from './common.js';

export const lint = defineCommand({
  path: ['lint'],
  summary: 'report, with stable codes, what in a mesh description will break or is unsafe',
  usage: `Usage: trustplane lint [--mesh FILE] [--json]

Parses the mesh description (exit 1 with every problem and its file:line:column if it is invalid), then reports
findings with stable codes (TP0001 …; see the README's catalogue). Exit 1 when a finding is an error.
  --mesh FILE   the mesh description (default examples/mesh.yaml)
  --json        print findings as JSON`,
  options: { ...meshOption, json: { type: 'boolean' } },
  async run({ values, io }) {
    const file = meshFile(values.mesh);
    const findings = lintMesh(readMesh(file));
    if (values.json) io.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
    else if (!findings.length) io.stdout.write(`${file}: no findings\n`);
    else for (const f of findings) io.stdout.write(`${f.file}${f.line ? `:${f.line}:${f.column}` : ''}: ${f.code} ${f.severity} ${f.path}: ${f.message}\n`);
    return findings.some((f) => f.severity === 'error') ? 1 : 0;
  },
});

export const schema = defineCommand({
  path: ['schema'],
  summary: 'print the JSON Schema of the mesh description, for editors',
  usage: `Usage: trustplane schema > mesh.schema.json

The schema is generated from the same definition the parser validates with.
Point your editor at it, e.g. with a first line \`# yaml-language-server: $schema=mesh.schema.json\`.`,
  options: {},
  async run({ io }) {
    io.stdout.write(`${JSON.stringify(meshJsonSchema(), null, 2)}\n`);
    return 0;
  },
});

