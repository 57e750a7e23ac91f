/** Base class of every error tollgate raises on purpose; `code` is stable and documented. */
export class TollgateError extends Error {
  /** Stable machine-readable code, e.g. `TOLLGATE_BUNDLE_INVALID`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
