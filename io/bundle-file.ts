/** Bundle files: a path given by the user, or the embedded finance baseline. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadBundle } from '../policies/index.ts';
import type { CompiledBundle } from '../policies/index.ts';
import { defaultBundleDocument, defaultBundleSource, readDefaultBundle } from './default-bundle.ts';

/**
 * Loads a bundle file, or the embedded finance baseline when no path is given. `verify` (e.g. the
 * signature check of `--require-signed-bundle`) sees the exact bytes that are then loaded.
 */
export async function loadBundleFile(
  path: string | undefined,
  cwd: string,
  verify?: (bytes: Uint8Array) => Promise<unknown>,
): Promise<CompiledBundle> {
  const bytes = path ? await readFile(resolve(cwd, path)) : await readDefaultBundle();
  if (verify) await verify(bytes);
  const document = path ? undefined : defaultBundleDocument();
  return loadBundle(bytes, {
    source: path ?? defaultBundleSource,
    // The build validated the embedded document against the bundle schema (scripts/build.ts).
    ...(document !== undefined ? { document, prevalidated: true } : {}),
  });
}
