// gRPC Server Reflection on the Workload API sockets (a SHOULD of SPIFFE Workload Endpoint §7: it tells a client
// which services the endpoint offers beyond the Workload API, and lets tools such as grpcurl call it without a copy
// of the .proto). The descriptors are the ones generated from proto/workload.proto (with the files it imports), so
// what is reflected is what is served.
//
// Reflection does not ask for the `workload.spiffe.io` security header, although §3's wording covers every
// request to the endpoint: SPIRE's agent registers reflection on its Workload API server and checks the header on
// /SpiffeWorkloadAPI/ methods only, so reflection clients written against it send none. The header guards against
// a forged request (SSRF) reaching identities; reflection hands out the service's public schema and nothing else.
// A reflection call still comes in on a caller's own socket, so only that socket's uid reaches it.
import type * as grpc from '@grpc/grpc-js';
import { toBinary, type DescFile } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { ReflectionV1Implementation, ReflectionError } from '@grpc/reflection/build/src/implementations/reflection-v1.js';
import { ReflectionV1AlphaImplementation } from '@grpc/reflection/build/src/implementations/reflection-v1alpha.js';
import { file_workload } from '#gen/workload_pb';
import { SERVICE_NAME } from './service.js';

/** A file and, after it, every file it imports (each once), as serialized FileDescriptorProtos. */
function fileDescriptorProtos(file: DescFile): Buffer[] {
  const seen = new Set<string>();
  const out: Buffer[] = [];
  const visit = (f: DescFile): void => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    out.push(Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto)));
    for (const d of f.dependencies) visit(d);
  };
  visit(file);
  return out;
}

// `any[]`: TypeScript takes a class as a mixin base only with this constructor type.
type Implementation = new (...args: any[]) => ReflectionV1Implementation;

/**
 * @grpc/reflection 1.0 names a symbol of a file without a `package` with a leading dot (".SpiffeWorkloadAPI"):
 * it would list the service under a name no method path has, and not find "SpiffeWorkloadAPI" when asked. The
 * spec's service has no package (its method paths are /SpiffeWorkloadAPI/<Method>), so the names are corrected
 * here, on the library's public methods, for both versions of the protocol.
 */
function packageless<T extends Implementation>(Base: T): T {
  return class extends Base {
    override listServices(listServices: string): ReturnType<ReflectionV1Implementation['listServices']> {
      const r = super.listServices(listServices);
      return { ...r, service: r.service.map((s) => ({ ...s, name: s.name.replace(/^\./, '') })) };
    }

    override fileContainingSymbol(symbol: string): ReturnType<ReflectionV1Implementation['fileContainingSymbol']> {
      try {
        return super.fileContainingSymbol(symbol);
      } catch (err) {
        if (!(err instanceof ReflectionError) || symbol.startsWith('.')) throw err;
        return super.fileContainingSymbol(`.${symbol}`);
      }
    }
  };
}

const V1 = packageless(ReflectionV1Implementation);
const V1Alpha = packageless(ReflectionV1AlphaImplementation);
let versions: ReflectionV1Implementation[] | undefined;

/** Adds grpc.reflection.v1 and v1alpha ServerReflection, describing SpiffeWorkloadAPI, to a server. */
export function addWorkloadApiReflection(server: grpc.Server): void {
  // The library reads `fileDescriptorProtos` from each entry of a proto-loader package definition; this is that
  // shape, built from the generated descriptors rather than from a second parse of the .proto at run time.
  const definition = { [SERVICE_NAME]: { fileDescriptorProtos: fileDescriptorProtos(file_workload) } } as never;
  versions ??= [new V1(definition, { services: [`.${SERVICE_NAME}`] }), new V1Alpha(definition, { services: [`.${SERVICE_NAME}`] })];
  for (const v of versions) v.addToServer(server);
}
