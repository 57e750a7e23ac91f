import { TollgateError } from './tollgate-error.ts';

/** A bundle whose signature is missing, malformed, made with an untrusted key, or does not match its bytes. */
export class BundleSignatureError extends TollgateError {
  /** The bundle (file path or name) the signature was checked for. */
  readonly source: string;

  constructor(source: string, message: string, options?: ErrorOptions) {
    super('TOLLGATE_BUNDLE_SIGNATURE', `bundle ${source} refused: ${message}`, options);
    this.source = source;
  }
}
