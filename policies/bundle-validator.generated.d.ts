// The declaration of the generated bundle validator (scripts/generated.ts writes the module beside it).
import type { ValidateFunction } from 'ajv';

/** Validates a bundle document against `bundleSchema()` (built-in policies, custom rules). */
declare const validate: ValidateFunction;
export default validate;
