/**
 * Bundles the GitHub Action into ci-action/dist/index.js (ESM, platform node, target node22) with
 * esbuild, beside kubectl's YAML reader (kube-yaml.wasm.gz). The embedded default bundle's YAML is compiled in through `define`, so dist/ needs no
 * bundles/ folder. The build is deterministic: a test rebuilds into a temporary directory and
 * compares the bytes with the committed dist/ (`npm run build:action` to refresh it).
 *
 * Usage: node scripts/build-action.ts [OUTDIR]   (default ci-action/dist)
 */
import { copyFile, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Builds the action into `outdir`; returns the written file paths. */
export async function buildAction(outdir: string): Promise<string[]> {
  const defaultBundle = await readFile(new URL('../bundles/finance-baseline.yaml', import.meta.url), 'utf8');
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['ci-action/src/main.ts'],
    outfile: `${outdir}/index.js`,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    charset: 'utf8',
    // Paths in the output name node_modules as seen from the repository, even when node_modules is a
    // symlink (a git worktree sharing another checkout's packages): the bytes must not depend on it.
    preserveSymlinks: true,
    legalComments: 'eof',
    logLevel: 'warning',
    metafile: false,
    sourcemap: false,
    define: { TOLLGATE_EMBEDDED_DEFAULT_BUNDLE: JSON.stringify(defaultBundle) },
    // CommonJS dependencies call require() for node built-ins; give the ESM bundle one.
    banner: {
      js: "import { createRequire as __tollgateCreateRequire } from 'node:module';\nconst require = __tollgateCreateRequire(import.meta.url);",
    },
  });
  if (result.errors.length > 0)
    throw new Error(`esbuild failed: ${result.errors.map((e) => e.text).join('; ')}`);
  // kubectl's YAML reader (WebAssembly), loaded by ci-action/src/gate/kube-yaml.ts from beside the bundle.
  await copyFile(`${root}ci-action/kube-yaml/kube-yaml.wasm.gz`, `${outdir}/kube-yaml.wasm.gz`);
  return [`${outdir}/index.js`, `${outdir}/kube-yaml.wasm.gz`];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outdir = process.argv[2] ?? `${root}ci-action/dist`;
  const files = await buildAction(outdir);
  process.stdout.write(`built ${files.join(', ')}\n`);
}
