// The character-level rules of the SPIFFE-ID specification, shared by TrustDomain and SpiffeId so that both
// report the same code and position for the same mistake. Indexes in messages point into the caller's input.
import { SpiffeIdError } from './id-error.js';

export const SCHEME_PREFIX = 'spiffe://';
export const MAX_ID_BYTES = 2048;
export const MAX_TRUST_DOMAIN_CHARS = 255;

const TRUST_DOMAIN_ACCEPTED = 'accepted: a-z 0-9 . - _';
const SEGMENT_ACCEPTED = 'accepted: a-z A-Z 0-9 . - _';

/** Quotes (a prefix of) the input so long or hostile strings cannot flood a log line. */
export function quote(input: string): string {
  return JSON.stringify(input.length > 80 ? `${input.slice(0, 77)}...` : input);
}

function isTrustDomainChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x5f;
}

function isSegmentChar(c: number): boolean {
  return isTrustDomainChar(c) || (c >= 0x41 && c <= 0x5a);
}

function showChar(s: string, i: number): string {
  return JSON.stringify(String.fromCodePoint(s.codePointAt(i) ?? 0));
}

/** Checks a trust domain name found at `offset` in `input`. */
export function checkTrustDomainName(name: string, input: string, offset: number): void {
  if (name === '') {
    throw new SpiffeIdError('MISSING_TRUST_DOMAIN', `trust domain is missing in ${quote(input)}`, offset);
  }
  const at = name.indexOf('@');
  if (at >= 0) {
    throw new SpiffeIdError(
      'HAS_USERINFO',
      `trust domain contains user info ("@" at index ${offset + at}) in ${quote(input)}; a SPIFFE ID has no user info`,
      offset + at,
    );
  }
  const colon = name.indexOf(':');
  if (colon >= 0) {
    throw new SpiffeIdError(
      'HAS_PORT',
      `trust domain contains a port (":" at index ${offset + colon}) in ${quote(input)}; a SPIFFE ID has no port`,
      offset + colon,
    );
  }
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (isTrustDomainChar(c)) continue;
    const where = offset + i;
    if (c === 0x25) throw percentError('trust domain', input, where, TRUST_DOMAIN_ACCEPTED);
    const upper = c >= 0x41 && c <= 0x5a ? '; upper case is not allowed, trust domains are lower case' : '';
    throw new SpiffeIdError(
      'BAD_TRUST_DOMAIN_CHAR',
      `trust domain contains an invalid character ${showChar(name, i)} at index ${where} in ${quote(input)} (${TRUST_DOMAIN_ACCEPTED})${upper}`,
      where,
    );
  }
  if (name.length > MAX_TRUST_DOMAIN_CHARS) {
    throw new SpiffeIdError(
      'TRUST_DOMAIN_TOO_LONG',
      `trust domain is ${name.length} characters long in ${quote(input)}; at most ${MAX_TRUST_DOMAIN_CHARS} are allowed`,
      offset,
    );
  }
}

/** Checks a path ("" or "/seg/seg...") found at `offset` in `input`. */
export function checkPath(path: string, input: string, offset: number): void {
  if (path === '') return;
  if (path[0] !== '/') {
    throw new SpiffeIdError('NO_LEADING_SLASH', `path ${quote(path)} must start with "/" (or be empty)`, offset);
  }
  let start = 1;
  for (;;) {
    const next = path.indexOf('/', start);
    const end = next < 0 ? path.length : next;
    checkSegment(path.slice(start, end), end === path.length, input, offset + start);
    if (end === path.length) return;
    start = end + 1;
  }
}

function checkSegment(segment: string, last: boolean, input: string, offset: number): void {
  if (segment === '') {
    if (last) {
      throw new SpiffeIdError('TRAILING_SLASH', `path ends with "/" at index ${offset - 1} in ${quote(input)}`, offset - 1);
    }
    throw new SpiffeIdError('EMPTY_SEGMENT', `path has an empty segment ("//") at index ${offset - 1} in ${quote(input)}`, offset - 1);
  }
  if (segment === '.' || segment === '..') {
    throw new SpiffeIdError(
      'DOT_SEGMENT',
      `path has a ${quote(segment)} segment at index ${offset} in ${quote(input)}; relative segments are not allowed`,
      offset,
    );
  }
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (isSegmentChar(c)) continue;
    const where = offset + i;
    if (c === 0x25) throw percentError('path', input, where, SEGMENT_ACCEPTED);
    if (c === 0x3f) throw queryError(input, where);
    if (c === 0x23) throw fragmentError(input, where);
    throw new SpiffeIdError(
      'BAD_PATH_SEGMENT_CHAR',
      `path segment contains an invalid character ${showChar(segment, i)} at index ${where} in ${quote(input)} (${SEGMENT_ACCEPTED})`,
      where,
    );
  }
}

/** Neither the trust domain nor the path may be percent-encoded (SPIFFE ID §2.1, §2.2): one rule, one message. */
function percentError(part: 'trust domain' | 'path', input: string, where: number, accepted: string): SpiffeIdError {
  return new SpiffeIdError('PERCENT_ENCODED', `${part} contains "%" at index ${where} in ${quote(input)}; percent-encoding is not allowed (${accepted})`, where);
}

function queryError(input: string, where: number): SpiffeIdError {
  return new SpiffeIdError('HAS_QUERY', `a SPIFFE ID has no query ("?" at index ${where} in ${quote(input)})`, where);
}

function fragmentError(input: string, where: number): SpiffeIdError {
  return new SpiffeIdError('HAS_FRAGMENT', `a SPIFFE ID has no fragment ("#" at index ${where} in ${quote(input)})`, where);
}

/** Splits "spiffe://td/path" into its checked parts. */
export function parseSpiffeUri(input: string): { trustDomain: string; path: string } {
  if (input === '') throw new SpiffeIdError('EMPTY', 'SPIFFE ID is empty', 0);
  const bytes = Buffer.byteLength(input, 'utf8');
  if (bytes > MAX_ID_BYTES) {
    throw new SpiffeIdError('TOO_LONG', `SPIFFE ID ${quote(input)} is ${bytes} bytes long; at most ${MAX_ID_BYTES} are allowed`);
  }
  if (!input.startsWith(SCHEME_PREFIX)) {
    const why = input.toLowerCase().startsWith(SCHEME_PREFIX)
      ? 'the scheme must be lower case "spiffe"'
      : 'it must start with "spiffe://"';
    throw new SpiffeIdError('WRONG_SCHEME', `${quote(input)} is not a SPIFFE ID: ${why}`, 0);
  }
  const rest = input.slice(SCHEME_PREFIX.length);
  // A "?" or "#" ends the path in URI syntax, so the first one decides whether this is a query or a fragment.
  const q = rest.search(/[?#]/);
  if (q >= 0) {
    const where = SCHEME_PREFIX.length + q;
    throw rest[q] === '?' ? queryError(input, where) : fragmentError(input, where);
  }
  const slash = rest.indexOf('/');
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  checkTrustDomainName(trustDomain, input, SCHEME_PREFIX.length);
  checkPath(path, input, SCHEME_PREFIX.length + trustDomain.length);
  return { trustDomain, path };
}
