// Small helpers shared by the builders: packing typed_config Anys and writing durations, so every builder
// produces the same bytes for the same input.
import { create, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { anyPack, DurationSchema, type Any, type Duration } from '@bufbuild/protobuf/wkt';

/** Packs a message into an Any, creating it from an init shape. */
export function typed<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Any {
  return anyPack(schema, create(schema, init) as MessageShape<Desc>);
}

export function durationMs(ms: number): Duration {
  return create(DurationSchema, { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });
}
