// A small, independent JSON Schema checker for the keywords meshJsonSchema() uses. Independent on purpose: the
// schema test compares what this says about a document with what the mesh validator says.
type Schema = { [k: string]: unknown };

const KNOWN = new Set(['$schema', 'title', 'description', 'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'pattern', 'minimum', 'maximum', 'minItems', 'oneOf', 'allOf']);

export function jsonSchemaErrors(schema: Schema, value: unknown, path = ''): string[] {
  for (const k of Object.keys(schema)) if (!KNOWN.has(k)) throw new Error(`checker does not know keyword ${k}`);
  const errors: string[] = [];
  const type = schema['type'];
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (type === 'object' && !isObject) return [`${path}: not an object`];
  if (type === 'array' && !Array.isArray(value)) return [`${path}: not an array`];
  if (type === 'string' && typeof value !== 'string') return [`${path}: not a string`];
  if (type === 'integer' && !Number.isInteger(value)) return [`${path}: not an integer`];
  if (type === 'boolean' && typeof value !== 'boolean') return [`${path}: not a boolean`];
  if (type !== undefined && !['object', 'array', 'string', 'integer', 'boolean'].includes(type as string)) throw new Error(`checker does not know type ${String(type)}`);
  // As in JSON Schema, the other keywords apply whenever the value has the kind they are about.
  if (isObject) {
    const props = (schema['properties'] ?? {}) as Record<string, Schema>;
    for (const k of (schema['required'] ?? []) as string[]) if (!(k in value)) errors.push(`${path}: missing ${k}`);
    for (const [k, v] of Object.entries(value)) {
      const sub = props[k];
      if (sub) errors.push(...jsonSchemaErrors(sub, v, `${path}/${k}`));
      else if (schema['additionalProperties'] === false) errors.push(`${path}: extra ${k}`);
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema['minItems'] === 'number' && value.length < schema['minItems']) errors.push(`${path}: too few items`);
    if (schema['items']) value.forEach((v, i) => errors.push(...jsonSchemaErrors(schema['items'] as Schema, v, `${path}/${i}`)));
  }
  if (typeof value === 'string') {
    if (Array.isArray(schema['enum']) && !schema['enum'].includes(value)) errors.push(`${path}: not in enum`);
    if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern'], 'u').test(value)) errors.push(`${path}: pattern`);
  }
  if (typeof value === 'number') {
    if (typeof schema['minimum'] === 'number' && value < schema['minimum']) errors.push(`${path}: below minimum`);
    if (typeof schema['maximum'] === 'number' && value > schema['maximum']) errors.push(`${path}: above maximum`);
  }
  if (Array.isArray(schema['oneOf'])) {
    const passing = (schema['oneOf'] as Schema[]).filter((s) => jsonSchemaErrors(s, value, path).length === 0).length;
    if (passing !== 1) errors.push(`${path}: ${passing} oneOf branches match`);
  }
  for (const s of (schema['allOf'] ?? []) as Schema[]) errors.push(...jsonSchemaErrors(s, value, path));
  return errors;
}
