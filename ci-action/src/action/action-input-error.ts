import { TollgateError } from '../../../policies/index.ts';

/** A GitHub Action input has a value the action cannot use; the message names the input and what is accepted. */
export class ActionInputError extends TollgateError {
  /** The input's name as written in the workflow (`fail-on`, `paths`...). */
  readonly input: string;

  constructor(input: string, message: string) {
    super('TOLLGATE_ACTION_INPUT', `input "${input}": ${message}`);
    this.input = input;
  }
}
