// Deterministic text of Envoy resources: proto3 JSON (snake_case field names, as Envoy's docs and users write
// them; keys in .proto declaration order, which is what toJson emits) printed as YAML.
import { toJson, type DescMessage, type JsonObject, type JsonValue, type MessageShape } from '@bufbuild/protobuf';
import YAML from 'yaml';
import { envoyRegistry } from './registry.js';

export function envoyJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonObject {
  return typeFirst(toJson(schema, message, { registry: envoyRegistry, useProtoFieldName: true })) as JsonObject;
}

// toJson writes an Any's `@type` after its fields; a reader of the YAML wants to see the type first.
function typeFirst(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(typeFirst);
  if (v === null || typeof v !== 'object') return v;
  const out: JsonObject = {};
  if ('@type' in v) out['@type'] = v['@type']!;
  for (const [k, x] of Object.entries(v)) if (k !== '@type') out[k] = typeFirst(x!);
  return out;
}

/** The JSON of a resource as an Any (`@type` first), as in a DiscoveryResponse or a file-based xDS source. */
export function envoyAnyJson<Desc extends DescMessage>(typeUrl: string, schema: Desc, message: MessageShape<Desc>): JsonObject {
  return { '@type': typeUrl, ...envoyJson(schema, message) };
}

/** YAML with a `#` comment header; no line folding, so a diff shows whole values. */
export function printYaml(json: JsonValue, header: readonly string[] = []): string {
  const body = YAML.stringify(json, { lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false });
  return header.map((l) => `# ${l}\n`).join('') + body;
}
