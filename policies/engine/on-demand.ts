/**
 * Libraries that only some bundles need (custom rules' RE2 and JSONPath, cron schedules, ajv for
 * a policy set other than the built-in one), loaded synchronously on first use: the bundle loader
 * and the policies are synchronous, and loading these for every command cost a good part of its
 * start. In the compiled command (scripts/build.ts) esbuild bundles the `require` of the literal
 * name and runs the library's module code only when first called; run from source (tests,
 * scripts) Node's own require loads the package (ES modules included).
 */
import { createRequire } from 'node:module';

const sourceRequire = createRequire(import.meta.url);

/**
 * Returns a loader of the library `name`; `bundled` must be `() => require('<name>')` with the
 * name as a literal, so the build can bundle it.
 */
export function onDemand<T>(name: string, bundled: () => unknown): () => T {
  let library: T | undefined;
  return () => (library ??= (typeof require === 'function' ? bundled() : sourceRequire(name)) as T);
}
