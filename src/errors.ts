// Every error trustplane raises on purpose is a TrustplaneError with a stable `code` (what went wrong, for
// programs, metrics and the docs) and a message for people (what, where, and what is accepted). A module's error
// class names its codes by subclassing with their union (`class PemError extends TrustplaneError<PemErrorCode> {}`)
// rather than by redeclaring `code` and the constructor.
export class TrustplaneError<C extends string = string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
