/**
 * Every stable error code tollgate raises on purpose; docs/errors.md has one row per code (a test
 * keeps the two in step). Add a code here and a row there together.
 */
export type TollgateErrorCode =
  | 'TOLLGATE_USAGE'
  | 'TOLLGATE_INPUT_INVALID'
  | 'TOLLGATE_BUNDLE_INVALID'
  | 'TOLLGATE_CONFIG_INVALID'
  | 'TOLLGATE_BUNDLE_SIGNATURE'
  | 'TOLLGATE_ACTION_INPUT'
  | 'TOLLGATE_ADMISSION_REQUEST_INVALID'
  | 'TOLLGATE_REGISTRY_UNREACHABLE'
  | 'TOLLGATE_REGISTRY_NOT_FOUND'
  | 'TOLLGATE_REGISTRY_INVALID'
  | 'TOLLGATE_FREEZE_NOT_CONFIGURED'
  | 'TOLLGATE_CLUSTER';

/** Base class of every error tollgate raises on purpose; `code` is stable and documented. */
export class TollgateError extends Error {
  /** Stable machine-readable code, e.g. `TOLLGATE_BUNDLE_INVALID`. */
  readonly code: TollgateErrorCode;

  constructor(code: TollgateErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
