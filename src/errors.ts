// Every error trustplane raises on purpose is a TrustplaneError with a stable `code` (what went wrong, for
// programs, metrics and the docs) and a message for people (what, where, and what is accepted).
export class TrustplaneError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
