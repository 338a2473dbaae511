// Generates typed TypeScript (JS + .d.ts) for the Envoy v3 API into gen/.
//
// The .proto files come from @grpc/grpc-js-xds's deps/ folder at build time and are never committed. Its
// validate/validate.proto predates the Envoy protos next to it (they use `ignore_empty` and the message option
// `validate.ignored`), which protoc-compatible compilers reject, so the staged copy gets those fields added.
// Only the closure of proto/envoy-targets.txt is compiled: some shipped files import protos that are not shipped.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const stage = join(root, 'build', 'proto-src');
const gen = join(root, 'gen');
const targetsFile = join(root, 'proto', 'envoy-targets.txt');
const stampFile = join(gen, '.stamp');
// The project's own .proto files (written from specs, e.g. the SPIFFE Workload API), generated beside Envoy's.
const ownProtos = ['workload.proto'];

const targets = readFileSync(targetsFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const stamp = JSON.stringify({ targets, own: ownProtos.map((f) => readFileSync(join(root, 'proto', f), 'utf8')), xds: require('@grpc/grpc-js-xds/package.json').version, es: require('@bufbuild/protoc-gen-es/package.json').version, self: statSync(fileURLToPath(import.meta.url)).mtimeMs });
if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) process.exit(0);

rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
for (const [pkg, dirs] of [['envoy-api', ['envoy']], ['xds', ['xds', 'udpa']], ['googleapis', ['google']], ['protoc-gen-validate', ['validate']]]) {
  for (const d of dirs) cpSync(join(deps, pkg, d), join(stage, d), { recursive: true });
}

// Field numbers of `ignore_empty` in protoc-gen-validate's current validate.proto.
const ignoreEmpty = { Int32Rules: 8, Int64Rules: 8, UInt32Rules: 8, UInt64Rules: 8, SInt32Rules: 8, SInt64Rules: 8, Fixed32Rules: 8, Fixed64Rules: 8, SFixed32Rules: 8, SFixed64Rules: 8, FloatRules: 8, DoubleRules: 8, StringRules: 26, BytesRules: 14, EnumRules: undefined, RepeatedRules: 5, MapRules: 6 };
const validatePath = join(stage, 'validate', 'validate.proto');
let validate = readFileSync(validatePath, 'utf8');
for (const [msg, num] of Object.entries(ignoreEmpty)) {
  if (num === undefined) continue;
  const head = `message ${msg} {`;
  const body = validate.slice(validate.indexOf(head), validate.indexOf('\n}', validate.indexOf(head)));
  if (!body.includes('ignore_empty')) validate = validate.replace(head, `${head}\n    optional bool ignore_empty = ${num};`);
}
if (!validate.includes('optional bool ignored = 1072')) {
  validate = validate.replace('optional bool disabled = 1071;', 'optional bool disabled = 1071;\n    optional bool ignored = 1072;');
}
writeFileSync(validatePath, validate);
for (const f of ownProtos) cpSync(join(root, 'proto', f), join(stage, f));
writeFileSync(join(stage, 'buf.yaml'), 'version: v2\n');

rmSync(gen, { recursive: true, force: true });
const buf = join(dirname(require.resolve('@bufbuild/buf/package.json')), 'bin', 'buf');
const args = ['generate', stage, '--template', join(root, 'proto', 'buf.gen.yaml'), ...[...targets, ...ownProtos].flatMap((t) => ['--path', join(stage, t)])];
execFileSync(process.execPath, [buf, ...args], { cwd: join(root, 'proto'), stdio: 'inherit', env: { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH}` } });

// gen/all.js: every generated file descriptor, so a registry can resolve any Envoy type URL (Any, typed_config).
const pbFiles = readdirSync(gen, { recursive: true }).map(String).filter((f) => f.endsWith('_pb.js')).sort();
const lines = pbFiles.map((f, i) => {
  const exp = 'file_' + f.replace(/_pb\.js$/, '').replace(/[/.-]/g, '_');
  return `import { ${exp} as f${i} } from './${f}';`;
});
writeFileSync(join(gen, 'all.js'), `${lines.join('\n')}\nexport const allFiles = [${pbFiles.map((_, i) => `f${i}`).join(', ')}];\n`);
writeFileSync(join(gen, 'all.d.ts'), `import type { DescFile } from '@bufbuild/protobuf';\nexport declare const allFiles: DescFile[];\n`);
writeFileSync(stampFile, stamp);
