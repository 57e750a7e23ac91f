import { TollgateError } from './tollgate-error.ts';

/** A policy's parameters are well-formed JSON but semantically wrong (thrown by `Policy.compile`). */
export class ConfigError extends TollgateError {
  /** Path of the offending parameter relative to the policy's parameter object. */
  readonly path: string;

  constructor(path: string, message: string) {
    super('TOLLGATE_CONFIG_INVALID', message);
    this.path = path;
  }
}
