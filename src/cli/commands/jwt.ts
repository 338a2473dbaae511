// `trustplane jwt mint` and `trustplane jwt verify`: JWT-SVIDs from the command line, against the data directory
// (the same CA `serve` runs; verify only reads it), and verify also against a running server's JWKS. Workloads get
// theirs over the Workload API.
import { readFileSync } from 'node:fs';
import { CertificateAuthority } from '../../ca/certificate-authority.js';
import { readPublishedJwtAuthorities } from '../../ca/jwt-key-store.js';
import { MAX_TOKEN_BYTES, validateJwtSvid } from '../../jwt/validate.js';
import { TrustplaneError } from '../../errors.js';
import { BundleSet, X509Bundle } from '../../spiffe/bundle.js';
import { parseJwks, type JwtAuthority } from '../../spiffe/jwt-authority.js';
import { SpiffeId } from '../../spiffe/id.js';
import { TrustDomain } from '../../spiffe/trust-domain.js';
import { defineCommand, UsageError } from '../command.js';
import { dataDir, dataDirOption, parseDuration } from './common.js';
import { readBundleFile } from './svid-verify.js';

export const jwtMint = defineCommand({
  path: ['jwt', 'mint'],
  summary: 'mint a JWT-SVID with the embedded CA and print it',
  usage: `Usage: trustplane jwt mint --spiffe-id ID --audience AUD [--audience ...] [--ttl 5m] [--issuer URL] [--data-dir DIR]

Opens (or creates) the embedded CA of the ID's trust domain in the data directory and prints one JWT-SVID
(header alg, kid, typ; claims sub, aud, exp, iat, and iss with --issuer) on stdout, nothing else.
  --spiffe-id ID     the SPIFFE ID (sub) to mint for
  --audience AUD     an audience (aud); repeatable, at least one (one is strongly recommended: JWT-SVID §7.2)
  --ttl DURATION     lifetime (default 5m; at most 1h)
  --issuer URL       the iss claim, e.g. the --oidc-issuer of \`serve\` for cloud token services
  --data-dir DIR     the control plane's data directory (default ./.trustplane)`,
  options: { 'spiffe-id': { type: 'string' }, audience: { type: 'string', multiple: true }, ttl: { type: 'string' }, issuer: { type: 'string' }, ...dataDirOption },
  async run({ values, io }) {
    if (!values['spiffe-id']) throw new UsageError('--spiffe-id is required');
    if (!values.audience?.length) throw new UsageError('at least one --audience is required');
    const id = SpiffeId.parse(values['spiffe-id']);
    const ca = CertificateAuthority.open({ trustDomain: id.trustDomain, dataDir: dataDir(values['data-dir']), logger: io.logger(), ...(values.issuer ? { jwt: { issuer: values.issuer } } : {}) });
    try {
      const svid = await ca.jwt.mint(id, values.audience, values.ttl ? { ttlMs: parseDuration(values.ttl, '--ttl') } : {});
      io.stdout.write(`${svid.token}\n`);
      return 0;
    } finally {
      ca.close();
    }
  },
});

export const jwtVerify = defineCommand({
  path: ['jwt', 'verify'],
  summary: 'validate a JWT-SVID: exit 0, or exit 1 and the exact reason',
  usage: `Usage: trustplane jwt verify --audience AUD [--bundle TD=FILE ...] [--jwks TD=URL ...] [--trust-domain TD] [--at TIME] [--data-dir DIR] TOKEN|-

Validates TOKEN (or the token on stdin, with -) as a JWT-SVID: its alg and headers, its sub (a SPIFFE ID), the
key its kid names in the bundle of the sub's trust domain, the signature, exp, nbf, iat, and that aud names AUD.
The keys come from the data directory's CA (read only, never created), each --bundle, and each --jwks: a running
server's JWKS, e.g. http://127.0.0.1:18080/jwt/keys/example.org (the admin endpoint) or the OIDC issuer's /keys.
Exit 0 and the SPIFFE ID when valid; exit 1 and the reason with its code (e.g. [JWT_EXPIRED]) when not.
  --audience AUD     an audience this verifier identifies with; repeatable, the token must name one
  --bundle TD=FILE   a SPIFFE bundle (JSON, with jwt-svid keys) of a trust domain; repeatable
  --jwks TD=URL      the JWK Set of a trust domain's JWT keys, fetched over HTTP(S); repeatable
  --trust-domain TD  accept only SPIFFE IDs of this trust domain
  --at TIME          validate as of this ISO-8601 time instead of now
  --data-dir DIR     the control plane's data directory (default ./.trustplane)`,
  options: { audience: { type: 'string', multiple: true }, bundle: { type: 'string', multiple: true }, jwks: { type: 'string', multiple: true }, 'trust-domain': { type: 'string' }, at: { type: 'string' }, ...dataDirOption },
  positionals: { min: 1, max: 1, names: 'the token (or - to read it from stdin)' },
  async run({ values, positionals, io }) {
    if (!values.audience?.length) throw new UsageError('at least one --audience is required');
    const set = new BundleSet();
    const own = readPublishedJwtAuthorities(dataDir(values['data-dir']));
    if (own) set.add(new X509Bundle(TrustDomain.parse(own.trustDomain), [], { sequence: own.sequence, jwtAuthorities: own.authorities }));
    for (const spec of values.bundle ?? []) {
      const eq = spec.indexOf('=');
      if (eq <= 0) throw new UsageError(`--bundle "${spec}" is not TRUST_DOMAIN=FILE`);
      set.add(readBundleFile(TrustDomain.parse(spec.slice(0, eq)), spec.slice(eq + 1)));
    }
    for (const spec of values.jwks ?? []) {
      const eq = spec.indexOf('=');
      if (eq <= 0) throw new UsageError(`--jwks "${spec}" is not TRUST_DOMAIN=URL`);
      const td = TrustDomain.parse(spec.slice(0, eq));
      set.add(new X509Bundle(td, [], { jwtAuthorities: await fetchJwks(spec.slice(eq + 1)) }));
    }
    if (set.size === 0) throw new UsageError('no JWT authorities: the data directory has no JWT keys; give --bundle TD=FILE, --jwks TD=URL or --data-dir');
    const at = values.at ? Date.parse(values.at) : Date.now();
    if (Number.isNaN(at)) throw new UsageError(`--at "${values.at}" is not an ISO-8601 time`);
    const token = positionals[0] === '-' ? readFileSync(0, 'utf8').slice(0, MAX_TOKEN_BYTES + 2).trim() : positionals[0]!;
    const v = await validateJwtSvid(token, {
      audience: values.audience,
      bundles: set,
      clock: { now: () => at, setTimer: () => ({ cancel() {} }) },
      ...(values['trust-domain'] ? { trustDomain: TrustDomain.parse(values['trust-domain']) } : {}),
    });
    io.stdout.write(`valid: ${v.spiffeId.toString()} (aud ${v.audience.join(', ')}; kid ${v.keyId}; expires ${v.expiresAt.toISOString()})\n`);
    return 0;
  },
});

const JWKS_MAX_BYTES = 1 << 20;
const JWKS_TIMEOUT_MS = 10_000;

/** A JWK Set over HTTP(S): bounded in size and time; errors name the URL and what was wrong. */
async function fetchJwks(url: string): Promise<JwtAuthority[]> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--jwks "${url}" is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new UsageError(`--jwks "${url}" is not an http(s) URL`);
  let text: string;
  try {
    const res = await fetch(parsed, { signal: AbortSignal.timeout(JWKS_TIMEOUT_MS), redirect: 'error' });
    if (res.status !== 200) throw new TrustplaneError('JWKS_FETCH_FAILED', `${url} answered HTTP ${res.status}`);
    text = await res.text();
  } catch (err) {
    if (err instanceof TrustplaneError) throw err;
    throw new TrustplaneError('JWKS_FETCH_FAILED', `cannot fetch ${url}: ${(err as Error).name === 'TimeoutError' ? `no answer within ${JWKS_TIMEOUT_MS / 1000} s` : ((err as { cause?: { code?: string; message?: string } }).cause?.code ?? (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message)}`);
  }
  if (text.length > JWKS_MAX_BYTES) throw new TrustplaneError('JWKS_FETCH_FAILED', `${url}: the document is larger than ${JWKS_MAX_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new TrustplaneError('JWKS_FETCH_FAILED', `${url}: not a JSON document`);
  }
  return parseJwks(doc, url);
}
