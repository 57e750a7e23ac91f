import { TollgateError } from './tollgate-error.ts';

/**
 * An AdmissionReview the webhook cannot act on (malformed JSON, wrong apiVersion or kind, missing
 * uid): the caller's mistake, answered with HTTP 400 and this message, never a 500.
 */
export class AdmissionRequestError extends TollgateError {
  /** The HTTP status to answer with (400, or 413 for an oversized body). */
  readonly status: number;

  constructor(message: string, status = 400) {
    super('TOLLGATE_ADMISSION_REQUEST_INVALID', message);
    this.status = status;
  }
}
