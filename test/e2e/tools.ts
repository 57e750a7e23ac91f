import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Directory where `.ci/tools.sh` caches the binaries the e2e tests run. */
export function toolsDir(): string {
  return process.env['TOLLGATE_TOOLS_DIR'] || join(homedir(), '.cache', 'tollgate-tools');
}

/** Error thrown when a binary the e2e tests need has not been installed by `.ci/tools.sh`. */
export class MissingToolError extends Error {
  override name = 'MissingToolError';
}

/**
 * Absolute path of a cached binary (`kube-apiserver`, `etcd`, `helm`, `skopeo`, `docker-registry`).
 * Throws a {@link MissingToolError} telling how to install it when it is absent or not executable.
 */
export function toolPath(name: string): string {
  const path = join(toolsDir(), 'bin', name);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new MissingToolError(
      `e2e tool "${name}" not found at ${path}: run \`bash .ci/tools.sh\` first` +
        ' (set TOLLGATE_TOOLS_DIR if the tools are cached elsewhere)',
    );
  }
  return path;
}
