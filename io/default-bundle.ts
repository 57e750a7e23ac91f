/**
 * The embedded default bundle (the finance baseline), used when no `--bundle` is given.
 *
 * From source the YAML is read next to this module. The bundled GitHub Action (ci-action/dist)
 * has no bundles/ folder beside it, so its build replaces `TOLLGATE_EMBEDDED_DEFAULT_BUNDLE` with
 * the file's text (esbuild `define`); the bytes, and therefore the bundle digest, are identical.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** Set only in the bundled action and dist/: the exact text of bundles/finance-baseline.yaml. */
declare const TOLLGATE_EMBEDDED_DEFAULT_BUNDLE: string | undefined;
/** Set only in dist/: that text's YAML parsed at build time, as JSON (scripts/build.ts). */
declare const TOLLGATE_EMBEDDED_DEFAULT_BUNDLE_DOCUMENT: string | undefined;

/** Name shown for the embedded bundle in messages and reports. */
export const defaultBundleSource = 'bundles/finance-baseline.yaml (embedded default)';

/** Absolute path of `bundles/finance-baseline.yaml` when running from source (meaningless inside dist/). */
export const defaultBundlePath: string = fileURLToPath(
  new URL('../bundles/finance-baseline.yaml', import.meta.url),
);

/** The default bundle's exact bytes, from the build-time embedding when present, else from the file. */
export async function readDefaultBundle(): Promise<Uint8Array> {
  if (typeof TOLLGATE_EMBEDDED_DEFAULT_BUNDLE === 'string') {
    return new TextEncoder().encode(TOLLGATE_EMBEDDED_DEFAULT_BUNDLE);
  }
  return readFile(defaultBundlePath);
}

/**
 * The default bundle's YAML parsed at build time (a fresh copy per call), when the build embedded
 * it; loading then skips the YAML parse, the slowest step of loading the baseline.
 */
export function defaultBundleDocument(): unknown {
  return typeof TOLLGATE_EMBEDDED_DEFAULT_BUNDLE_DOCUMENT === 'string'
    ? (JSON.parse(TOLLGATE_EMBEDDED_DEFAULT_BUNDLE_DOCUMENT) as unknown)
    : undefined;
}
