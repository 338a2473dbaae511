// The mesh description: parse, validate, resolve, lint. Everything here is pure.
export * from './model.js';
export { checkMesh, parseMesh, type MeshCheck } from './parse.js';
export { MeshError, MESH_PROBLEM_CODES, formatProblem, type MeshProblem, type MeshProblemCode } from './problems.js';
export { meshJsonSchema, MESH_SCHEMA } from './schema.js';
export { lintMesh, type LintFinding } from './lint.js';
export { LINT_CATALOG, type LintCode, type LintRule, type Severity } from './lint-catalog.js';
export { parsePrincipal, principalToString, samePrincipal } from './principal.js';
