// One registry of every generated Envoy/xDS message type plus the well-known types, so that Any values
// (typed_config, DiscoveryResponse.resources) resolve by type URL in JSON and binary form.
import { createRegistry, type DescMessage, type Registry } from '@bufbuild/protobuf';
import {
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
} from '@bufbuild/protobuf/wkt';
import { allFiles } from '#gen/all';

export const envoyRegistry: Registry = createRegistry(
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
  ...allFiles,
);

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** The message descriptor for a type URL or a fully-qualified message name, if generated. */
export function messageForType(typeUrlOrName: string): DescMessage | undefined {
  const name = typeUrlOrName.startsWith(TYPE_URL_PREFIX) ? typeUrlOrName.slice(TYPE_URL_PREFIX.length) : typeUrlOrName;
  return envoyRegistry.getMessage(name);
}
