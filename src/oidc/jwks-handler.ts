// The JWT authorities of each trust domain trustplane holds (its own and federated ones), as a JWKS per trust
// domain at <admin>/jwt/keys/<trust domain>: what the jwt_authn providers of generated Envoy configs fetch
// (src/envoy/jwt-authn.ts). Public keys only, so every caller may read it; cached like the OIDC JWKS.
import type { AdminHandler } from '../control-plane/admin-http.js';
import { jwksPath } from '../envoy/jwt-authn.js';
import type { JwtBundleSource } from '../jwt/validate.js';
import type { X509Bundle } from '../spiffe/bundle.js';
import { etagOf, jwksDocument } from './discovery.js';

const PREFIX = jwksPath('');

export function jwksHandler(bundles: JwtBundleSource, maxAgeSeconds: number): AdminHandler {
  const rendered = new WeakMap<X509Bundle, { body: string; etag: string }>();
  return (req, res, ctx) => {
    if (!ctx.path.startsWith(PREFIX)) return false;
    const td = ctx.path.slice(PREFIX.length);
    const bundle = td && !td.includes('/') ? bundles.getBundle(td) : undefined;
    if (!bundle) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no bundle for trust domain ${JSON.stringify(td.slice(0, 255))}\n`);
      return true;
    }
    let doc = rendered.get(bundle);
    if (!doc) {
      const body = `${JSON.stringify(jwksDocument(bundle.jwtAuthorities), null, 2)}\n`;
      rendered.set(bundle, (doc = { body, etag: etagOf(body) }));
    }
    const headers = { 'cache-control': `public, max-age=${maxAgeSeconds}, must-revalidate`, etag: doc.etag };
    if (req.headers['if-none-match'] === doc.etag) {
      res.writeHead(304, headers).end();
      return true;
    }
    res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(doc.body);
    return true;
  };
}
