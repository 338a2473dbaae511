import { TrustplaneError } from '../errors.js';

/** Codes: UNSUPPORTED_TARGET (a service whose target has no generator yet), UNKNOWN_SERVICE. */
export class EnvoyGenerateError extends TrustplaneError {}
