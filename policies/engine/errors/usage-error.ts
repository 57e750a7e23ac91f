import { TollgateError } from './tollgate-error.ts';

/** Wrong command-line arguments or flags: the command exits 2 with the message. */
export class UsageError extends TollgateError {
  constructor(message: string) {
    super('TOLLGATE_USAGE', message);
  }
}
