// Small helpers shared by the builders: the init-shape type every builder returns, packing typed_config Anys and
// writing durations, so every builder produces the same bytes for the same input.
import { create, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { DurationSchema, type Any, type Duration } from '@bufbuild/protobuf/wkt';
import { packInit } from './binary.js';

/**
 * A message as the builders describe it: the object literal create() takes. Serving encodes it directly
 * (binary.ts); whoever needs the message itself (JSON for the golden files, tests) calls create() on it.
 */
export type Init<Desc extends DescMessage> = MessageInitShape<Desc>;

/**
 * Packs a message into an Any (the type URL anyPack writes). Its bytes are written in place inside the resource
 * that holds it (binary.ts packInit), or encoded from the init shape when `value` is read.
 */
export function typed<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Any {
  return packInit(typeUrlOf(schema), schema, init);
}

/** The type URL of each message type, made once (not a new string to build and hash for every Any). */
const typeUrls = new WeakMap<DescMessage, string>();
function typeUrlOf(schema: DescMessage): string {
  let url = typeUrls.get(schema);
  if (url === undefined) typeUrls.set(schema, (url = `type.googleapis.com/${schema.typeName}`));
  return url;
}

export function durationMs(ms: number): Duration {
  return create(DurationSchema, { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });
}
