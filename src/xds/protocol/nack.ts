// How a request answers the latest response of its type: ACK, NACK, an answer to an older response, or no answer
// at all (the first request, or a subscription change). By the xDS protocol (xds_protocol.rst, "ACK and NACK"):
// a NACK is told by error_detail alone (gRPC clients send the NEW version with error_detail when only some
// resources were bad, so version_info says nothing); SotW ignores answers to any nonce but the latest (the proxy
// will answer the latest one too); Delta matches a nonce among the responses not answered yet, and an answer
// also settles every older one. A NACKed response is never resent as such: the streams resend only when content
// changes, so there is no NACK loop.

export type Answer =
  | { readonly kind: 'none' }
  /** To a response other than the latest (SotW) or one no longer remembered (Delta): ignored. */
  | { readonly kind: 'stale' }
  | { readonly kind: 'ack'; readonly nonce: string }
  | { readonly kind: 'nack'; readonly nonce: string; readonly message: string };

interface AnsweringRequest {
  readonly responseNonce: string;
  readonly errorDetail?: { readonly message: string } | undefined;
}

const NONE: Answer = { kind: 'none' };
const STALE: Answer = { kind: 'stale' };

function verdict(req: AnsweringRequest): Answer {
  return req.errorDetail ? { kind: 'nack', nonce: req.responseNonce, message: req.errorDetail.message } : { kind: 'ack', nonce: req.responseNonce };
}

/** SotW: only the latest response's nonce counts. */
export function sotwAnswer(req: AnsweringRequest, nonceSent: string | undefined): Answer {
  if (!req.responseNonce || nonceSent === undefined) return NONE;
  return req.responseNonce === nonceSent ? verdict(req) : STALE;
}

/** Delta responses not yet answered that a stream remembers per type, to match answers to them. */
export const MAX_UNANSWERED = 16;

/** Delta: any unanswered nonce counts, and settles the older ones (removed from `unanswered`). */
export function deltaAnswer(req: AnsweringRequest, unanswered: string[]): Answer {
  if (!req.responseNonce) return NONE;
  const at = unanswered.indexOf(req.responseNonce);
  if (at < 0) return STALE;
  unanswered.splice(0, at + 1);
  return verdict(req);
}

/** Remembers a Delta response's nonce for its answer; the oldest is forgotten beyond MAX_UNANSWERED. */
export function rememberSent(unanswered: string[], nonce: string): void {
  unanswered.push(nonce);
  if (unanswered.length > MAX_UNANSWERED) unanswered.shift();
}
