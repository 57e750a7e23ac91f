/** Location of the embedded default bundle (the finance baseline), used when no `--bundle` is given. */
import { fileURLToPath } from 'node:url';

/** Absolute path of `bundles/finance-baseline.yaml`. */
export const defaultBundlePath: string = fileURLToPath(new URL('./finance-baseline.yaml', import.meta.url));
