// Who may see what on the admin address. /live, /ready and /metrics are for everyone who can reach the address
// (orchestrators, Prometheus): they carry no identity of a proxy. Every other page (proxy status, rollout, mesh
// state, the dashboard) names proxies and is the operator's. The operator is whoever can read the token file that
// `serve` writes at each start into its data directory (0600, so: the uid trustplane runs as, and root):
//   - programs send `Authorization: Bearer <token>` (`trustplane status` and `rollout status` read the file);
//   - a browser opens a one-time login link (printed by `serve`, or made by `trustplane admin link`), which trades a
//     single-use code for a session cookie (HttpOnly, SameSite=Strict), so the token never sits in a browser.
// The same rule as CSDS: a local user in no mesh sees health and counts, not who is connected.
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../ca/atomic-file.js';
import type { Clock } from '../clock.js';
import { fileError } from '../io/fs-errors.js';
import type { AdminHandler } from './admin-http.js';

export const ADMIN_TOKEN_FILE = 'admin-token';
export const SESSION_COOKIE = 'trustplane_admin';
export const LOGIN_PATH = '/login';
export const LOGIN_LINK_PATH = '/login/link';
/** A login link works once, within this time. */
export const LOGIN_CODE_TTL_MS = 10 * 60_000;
/** A browser session lasts this long (a new link gives a new one). */
export const SESSION_TTL_MS = 12 * 3_600_000;
/** Bounds on what unauthenticated requests can make the server remember. */
const MAX_LOGIN_CODES = 64;
const MAX_SESSIONS = 256;

export function adminTokenFile(dataDir: string): string {
  return join(dataDir, ADMIN_TOKEN_FILE);
}

/** Constant-time equality of two secrets of any length (hashed first so lengths do not leak either). */
function sameSecret(a: string, b: string): boolean {
  const h = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Whether a request carries operator credentials at all (right or wrong): 403 rather than 401 when refused. */
export function presentsCredentials(req: IncomingMessage): boolean {
  return req.headers.authorization !== undefined || cookieValue(req, SESSION_COOKIE) !== undefined;
}

export class AdminAccess {
  readonly #token: string;
  readonly #clock: Clock;
  readonly #file: string;
  /** Single-use login codes → expiry. */
  readonly #codes = new Map<string, number>();
  /** Session ids (hashed) → expiry. */
  readonly #sessions = new Map<string, number>();

  private constructor(token: string, clock: Clock, file: string) {
    this.#token = token;
    this.#clock = clock;
    this.#file = file;
  }

  /** A fresh operator token, written to <dataDir>/admin-token (0600, atomically): the previous run's stops working. */
  static create(dataDir: string, clock: Clock): AdminAccess {
    const token = randomBytes(32).toString('base64url');
    const file = adminTokenFile(dataDir);
    try {
      writeFileAtomic(file, `${token}\n`, 0o600);
    } catch (err) {
      throw fileError(err, 'cannot write the admin token', file);
    }
    return new AdminAccess(token, clock, file);
  }

  /** Removes the token file if it still holds this run's token (a stopped server's token opens nothing). */
  close(): void {
    try {
      if (readFileSync(this.#file, 'utf8').trim() === this.#token) rmSync(this.#file, { force: true });
    } catch {
      // already gone
    }
  }

  /** Bearer token, or a live session cookie. */
  isOperator(req: IncomingMessage): boolean {
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      return m !== null && sameSecret(m[1]!, this.#token);
    }
    const session = cookieValue(req, SESSION_COOKIE);
    if (session === undefined) return false;
    const expires = this.#sessions.get(hashed(session));
    return expires !== undefined && expires > this.#clock.now();
  }

  /** A one-time login path (`/login?code=...`) for a browser. */
  loginPath(): string {
    const now = this.#clock.now();
    prune(this.#codes, now, MAX_LOGIN_CODES - 1);
    const code = randomBytes(24).toString('base64url');
    this.#codes.set(hashed(code), now + LOGIN_CODE_TTL_MS);
    return `${LOGIN_PATH}?code=${code}`;
  }

  /** Serves /login (code → cookie) and /login/link (bearer → a fresh one-time link). */
  readonly handler: AdminHandler = (req, res, ctx) => {
    if (ctx.path === LOGIN_LINK_PATH) {
      if (!ctx.operator) return refuse(req, res), true;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify({ path: this.loginPath() })}\n`);
      return true;
    }
    if (ctx.path !== LOGIN_PATH) return false;
    const code = ctx.url.searchParams.get('code') ?? '';
    const key = hashed(code);
    const now = this.#clock.now();
    const expires = this.#codes.get(key);
    this.#codes.delete(key);
    if (expires === undefined || expires <= now) {
      res.writeHead(403, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end('this login link was already used or has expired; get a new one with `trustplane admin link`\n');
      return true;
    }
    const session = randomBytes(32).toString('base64url');
    prune(this.#sessions, now, MAX_SESSIONS - 1);
    this.#sessions.set(hashed(session), now + SESSION_TTL_MS);
    res
      .writeHead(303, {
        location: '/',
        'set-cookie': `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_TTL_MS / 1000}`,
        'cache-control': 'no-store',
      })
      .end();
    return true;
  };
}

function hashed(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Drops expired entries, then the oldest ones until at most `keep` are left. */
function prune(m: Map<string, number>, now: number, keep: number): void {
  for (const [k, exp] of m) if (exp <= now) m.delete(k);
  for (const k of m.keys()) {
    if (m.size <= keep) break;
    m.delete(k);
  }
}

/** The answer to a request for an operator page without operator credentials: one line saying how to get in. */
export function refuse(req: IncomingMessage, res: ServerResponse): void {
  const how = 'send `Authorization: Bearer <token>` with the token from <data-dir>/admin-token (what `trustplane status` does), or open a login link from `trustplane admin link`';
  if (presentsCredentials(req)) {
    res.writeHead(403, { 'content-type': 'text/plain' }).end(`forbidden: this page shows proxy identities and the credentials sent are not the operator's (the token changes at every start); ${how}\n`);
  } else {
    res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="trustplane"' }).end(`unauthorized: this page shows proxy identities and is for the operator only; ${how}\n`);
  }
}
