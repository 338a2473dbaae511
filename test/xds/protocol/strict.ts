// Strict parsing of what the server emits: every Any is decoded with a registry of all generated Envoy files,
// rendered to proto3 JSON (fails on an Any of an unknown type) and parsed back (fails on unknown fields), and the
// round trip must reproduce the exact bytes (fails on fields the schema does not know).
import { createRegistry, fromBinary, fromJson, toBinary, toJson, type DescFile, type Registry } from '@bufbuild/protobuf';
import { anyUnpack, AnySchema, type Any } from '@bufbuild/protobuf/wkt';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';
import type { Message } from '@bufbuild/protobuf';

let registry: Promise<Registry> | undefined;

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.name.endsWith('_pb.js')) out.push(p);
  }
  return out;
}

/** A registry of every file generated into gen/ (found relative to this module, in dist/test/xds/protocol). */
export function genRegistry(): Promise<Registry> {
  registry ??= (async () => {
    const genDir = fileURLToPath(new URL('../../../../gen/', import.meta.url));
    const files: DescFile[] = [];
    for (const path of await walk(genDir)) {
      const mod = (await import(`#gen/${relative(genDir, path).replace(/\.js$/, '')}`)) as Record<string, unknown>;
      for (const [k, v] of Object.entries(mod)) if (k.startsWith('file_')) files.push(v as DescFile);
    }
    return createRegistry(...files);
  })();
  return registry;
}

/** Parses one encoded (or decoded) Any strictly and returns the unpacked message. */
export async function strictUnpack(any: Uint8Array | Any): Promise<Message> {
  const reg = await genRegistry();
  const bytes = any instanceof Uint8Array ? any : toBinary(AnySchema, any);
  const decoded = fromBinary(AnySchema, bytes);
  const json = toJson(AnySchema, decoded, { registry: reg });
  const back = fromJson(AnySchema, json, { registry: reg });
  const again = toBinary(AnySchema, back);
  if (Buffer.compare(Buffer.from(again), Buffer.from(bytes)) !== 0) {
    throw new Error(`Any of ${decoded.typeUrl} does not survive a strict JSON round trip: unknown or non-canonical fields`);
  }
  const msg = anyUnpack(decoded, reg);
  if (!msg) throw new Error(`Any type ${decoded.typeUrl} is not in the registry`);
  return msg;
}
