import { TollgateError } from '../../policies/index.ts';
import type { TollgateErrorCode } from '../../policies/index.ts';

/**
 * Why a registry operation failed: `unreachable` (network, timeout, deadline, rate limit, 5xx,
 * authentication), `not-found` (manifest or blob unknown), `invalid` (the registry answered with
 * something that does not verify, e.g. a manifest whose hash is not the requested digest).
 */
export type RegistryErrorKind = 'unreachable' | 'not-found' | 'invalid';

const codes: Record<RegistryErrorKind, TollgateErrorCode> = {
  unreachable: 'TOLLGATE_REGISTRY_UNREACHABLE',
  'not-found': 'TOLLGATE_REGISTRY_NOT_FOUND',
  invalid: 'TOLLGATE_REGISTRY_INVALID',
};

/** A container registry could not give what was asked (code `TOLLGATE_REGISTRY_<KIND>`). */
export class RegistryError extends TollgateError {
  readonly kind: RegistryErrorKind;
  /** HTTP status of the last answer, when there was one. */
  readonly status?: number;

  constructor(kind: RegistryErrorKind, message: string, options?: ErrorOptions & { status?: number }) {
    super(codes[kind], message, options);
    this.kind = kind;
    if (options?.status !== undefined) this.status = options.status;
  }
}
