// Strict parsing of Envoy configuration against the v3 protos: our stand-in for `envoy --mode validate`.
// Unknown fields are rejected, and every Any (typed_config, ...) must resolve to a generated type, recursively.
import { fromBinary, fromJson, toBinary, toJson, type DescMessage, type JsonValue, type Message } from '@bufbuild/protobuf';
import { TrustplaneError } from '../errors.js';
import { envoyRegistry, messageForType } from './registry.js';

export class EnvoyConfigError extends TrustplaneError {}

function typeOf(typeUrlOrName: string, where: string): DescMessage {
  const desc = messageForType(typeUrlOrName);
  if (!desc) throw new EnvoyConfigError('UNKNOWN_ENVOY_TYPE', `${where}: no Envoy v3 message type "${typeUrlOrName}"`);
  return desc;
}

/** Parses proto3 JSON (Envoy's JSON/YAML form) as the given message type; throws EnvoyConfigError on anything Envoy would reject. */
export function parseEnvoyJson(typeUrlOrName: string, json: JsonValue, where = typeUrlOrName): Message {
  const desc = typeOf(typeUrlOrName, where);
  try {
    return fromJson(desc, json, { registry: envoyRegistry, ignoreUnknownFields: false });
  } catch (err) {
    throw new EnvoyConfigError('INVALID_ENVOY_CONFIG', `${where}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Decodes a binary resource of the given type and proves it survives a strict JSON round trip: every nested Any
 * must resolve (toJson fails otherwise) and the JSON must parse back to the same bytes.
 */
export function checkEnvoyBinary(typeUrlOrName: string, bytes: Uint8Array, where = typeUrlOrName): JsonValue {
  const desc = typeOf(typeUrlOrName, where);
  let json: JsonValue;
  try {
    const msg = fromBinary(desc, bytes, { readUnknownFields: true });
    if ((msg as { $unknown?: unknown[] }).$unknown?.length) throw new Error('message carries unknown fields');
    json = toJson(desc, msg, { registry: envoyRegistry });
  } catch (err) {
    throw new EnvoyConfigError('INVALID_ENVOY_CONFIG', `${where}: ${(err as Error).message}`, { cause: err });
  }
  const again = toBinary(desc, parseEnvoyJson(typeUrlOrName, json, where));
  const original = toBinary(desc, fromBinary(desc, bytes));
  if (Buffer.compare(Buffer.from(again), Buffer.from(original)) !== 0) {
    throw new EnvoyConfigError('INVALID_ENVOY_CONFIG', `${where}: JSON round trip changed the message`);
  }
  return json;
}
