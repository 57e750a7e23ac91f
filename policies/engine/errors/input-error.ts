import { TollgateError } from './tollgate-error.ts';

/** A manifest or request the user supplied cannot be read (bad YAML, not an object, missing kind). */
export class InputError extends TollgateError {
  readonly source: string;
  readonly line: number | undefined;

  constructor(source: string, message: string, line?: number) {
    super('TOLLGATE_INPUT_INVALID', `${source}${line ? `:${line}` : ''}: ${message}`);
    this.source = source;
    this.line = line;
  }
}
