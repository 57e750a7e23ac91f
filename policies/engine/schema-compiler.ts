/**
 * ajv with its formats, for a policy set whose bundle validator was not generated ahead of time
 * (tests, an embedding program). Loaded on first use through ./on-demand.ts as one module, so the
 * compiled command keeps ajv and its formats plugin in one file with one copy of ajv's code.
 */
import { Ajv } from 'ajv';
import type { Options, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (instance: Ajv) => Ajv;

/** Compiles `schema` with ajv and its formats. */
export function compileSchema<T>(schema: Record<string, unknown>, options: Options): ValidateFunction<T> {
  const ajv = new Ajv({ ...options });
  addFormats(ajv);
  return ajv.compile<T>(schema);
}
