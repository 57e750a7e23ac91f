/**
 * Compiles the `tollgate` command into dist/ with esbuild: JavaScript built ahead of time, so no
 * command ever pays for TypeScript type stripping at run time. `npm ci` runs it (the `prepare`
 * script), `npm pack` packs its output, and the webhook image copies it.
 *
 * Entry points by convention, never a hand-kept list: cli/main.ts (dist/tollgate.js) and every
 * command module cli/commands/<name>.ts (dist/command-<name>.js). ESM code splitting keeps what one
 * command needs out of the others' way: `check` never loads express, the Kubernetes client, pino or
 * prom-client; modules a command imports dynamically (jose, the registry client, the holiday data)
 * load only when used. Dependencies are bundled, so the output runs without node_modules.
 *
 * dist/ is flat (entries and chunks side by side, one level below the package root, as the
 * sources of io/ are), so `new URL('../bundles/…', import.meta.url)` names the same file from the
 * sources and from dist/. The default bundle's text is embedded as in the Action.
 * dist/build-info.json lists the repository files the build read and when it started, for
 * bin/tollgate.js to tell when a clone's dist/ is older than its sources (it then rebuilds).
 *
 * Usage: node scripts/build.ts [OUTDIR]   (default dist)
 */
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { build } from 'esbuild';
import type { BuildOptions, Plugin } from 'esbuild';
import { parseDocument } from 'yaml';
import { loadBundle } from '../policies/index.ts';
import { TOLLGATE_VERSION } from '../policies/engine/version.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const kubeYaml = 'ci-action/kube-yaml/kube-yaml.wasm.gz';

/** The entry points: the command line and each command module under cli/commands/. */
export async function cliEntryPoints(): Promise<Record<string, string>> {
  const entries: Record<string, string> = { tollgate: 'cli/main.ts' };
  for (const file of (await readdir(join(root, 'cli/commands'))).sort()) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts') || file.endsWith('.d.ts')) continue;
    entries[`command-${file.slice(0, -3)}`] = `cli/commands/${file}`;
  }
  return entries;
}

/**
 * `await import('pkg')` of a CommonJS package gives, in Node, a namespace with the package's named
 * exports beside `default`; split by esbuild it gives only `default`, so `const { Counter } =
 * await import('prom-client')` would read undefined. This plugin routes each dynamic import of a
 * CommonJS package through a small ES module that exports, beside `default`, the names Node's
 * own reader of CommonJS exports finds: assignments to `exports.NAME` / `module.exports.NAME` and
 * `Object.defineProperty(exports, "NAME", …)` in the package's entry file.
 */
export const cjsNamespaces: Plugin = {
  name: 'cjs-namespaces',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.kind !== 'dynamic-import' || args.namespace === 'cjs-namespace') return undefined;
      if (args.path.startsWith('node:')) return undefined;
      const resolved = await build.resolve(args.path, {
        kind: 'import-statement',
        resolveDir: args.resolveDir,
        namespace: 'cjs-namespace',
      });
      if (resolved.errors.length > 0 || !(await isCommonJs(resolved.path))) return undefined;
      return { path: args.path, namespace: 'cjs-namespace', pluginData: { resolveDir: args.resolveDir } };
    });
    build.onLoad({ filter: /.*/, namespace: 'cjs-namespace' }, async (args) => {
      const { resolveDir } = args.pluginData as { resolveDir: string };
      const resolved = await build.resolve(args.path, { kind: 'import-statement', resolveDir });
      const names = await commonJsExports(resolved.path);
      const spec = JSON.stringify(args.path);
      return {
        contents: `import * as m from ${spec};\nexport default m.default;\n${names.length ? `export const { ${names.join(', ')} } = m;\n` : ''}`,
        resolveDir,
        loader: 'js',
      };
    });
  },
};

/**
 * Libraries the sources load on first use (policies/engine/on-demand.ts: a `require()` of a literal
 * name, the only require() ESLint allows in the sources) stay out of the chunks every command
 * loads: each becomes its own CommonJS file, dist/on-demand/<name>.cjs, that the chunk requires at
 * run time from beside itself. Bundled into the chunks (esbuild's lazy wrappers), the libraries' code
 * was still read and compiled at every start: about 1 MB (the generated bundle validator, RE2,
 * JSONPath, cron with luxon, ajv) of the 1.5 MB a `check` loaded.
 */
export function onDemandFiles(found: Map<string, string>): Plugin {
  return {
    name: 'on-demand-files',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== 'require-call' || args.importer.includes('node_modules')) return undefined;
        if (args.path.startsWith('node:') || !args.importer.startsWith(root)) return undefined;
        const resolved = await build.resolve(args.path, {
          kind: 'import-statement',
          resolveDir: args.resolveDir,
        });
        if (resolved.errors.length > 0) return undefined;
        const name = args.path
          .replace(/^\.\//, '')
          .replace(/\.[cm]?[jt]s$/, '')
          .replace(/[^\w.-]+/g, '_');
        found.set(name, resolved.path);
        return { path: `./on-demand/${name}.cjs`, external: true };
      });
    },
  };
}

/** The named exports Node finds in a CommonJS file, by the patterns its lexer recognises. */
async function commonJsExports(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  const names = new Set<string>();
  for (const match of text.matchAll(
    /(?:^|[^.\w$])(?:module\.)?exports\.([A-Za-z_$][\w$]*)\s*=[^=]|Object\.defineProperty\(\s*(?:module\.)?exports\s*,\s*["']([A-Za-z_$][\w$]*)["']/g,
  ))
    names.add((match[1] ?? match[2])!);
  names.delete('default');
  names.delete('__esModule');
  return [...names].sort();
}

/** Whether Node loads this file as CommonJS (.cjs, or .js outside a `"type": "module"` package). */
async function isCommonJs(file: string): Promise<boolean> {
  if (file.endsWith('.cjs')) return true;
  if (!file.endsWith('.js')) return false;
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const text = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined);
    if (text !== undefined) return (JSON.parse(text) as { type?: string }).type !== 'module';
  }
  return true;
}

/** What {@link buildCli} wrote. */
export interface BuildResult {
  readonly outdir: string;
  /** Repository files (relative, `/`-separated) the output was built from, node_modules excluded. */
  readonly inputs: readonly string[];
}

/**
 * The embedded default bundle's YAML as loadBundle reads it (`toJS` of the parsed document). The
 * build refuses a bundle with YAML errors, and one that does not load (schema, versions, policy
 * parameters) with loading's own message: the command skips the schema validation of the document
 * embedded here (`prevalidated`), so the build is where it is validated.
 */
export function embeddedDocument(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0)
    throw new Error(`bundles/finance-baseline.yaml: ${doc.errors.map((e) => e.message).join('; ')}`);
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (!isDeepStrictEqual(JSON.parse(JSON.stringify(value)), value))
    throw new Error('bundles/finance-baseline.yaml holds a value JSON cannot carry (embed it as text only)');
  loadBundle(text, { source: 'bundles/finance-baseline.yaml' });
  return value;
}

/** Builds the command into `outdir` (emptied first). */
export async function buildCli(outdir: string = join(root, 'dist')): Promise<BuildResult> {
  const startedAt = new Date().toISOString();
  const out = resolve(outdir);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const defaultBundle = await readFile(join(root, 'bundles/finance-baseline.yaml'), 'utf8');
  const onDemandLibraries = new Map<string, string>();
  // What every output of the build shares: the command's chunks and each on-demand library.
  const common = {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node22',
    // Non-ASCII characters escaped: V8 keeps a script's source in memory for the life of the
    // process, in two bytes per character when one character needs it (1 MB more heap for
    // `tollgate serve`, about 5 MB more RSS at start).
    charset: 'ascii',
    // Paths in the output name node_modules as seen from the repository, even when node_modules is a
    // symlink (a git worktree sharing another checkout's packages): the bytes, and the digest of the
    // image built from them (scripts/build-image.ts), must not depend on it.
    preserveSymlinks: true,
    legalComments: 'linked',
    logLevel: 'warning',
    metafile: true,
    // Less to read and parse at every start; identifiers keep their names for readable stacks.
    minifyWhitespace: true,
    minifySyntax: true,
  } as const satisfies BuildOptions;
  const result = await build({
    ...common,
    entryPoints: await cliEntryPoints(),
    outdir: out,
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    splitting: true,
    format: 'esm',
    sourcemap: false,
    plugins: [cjsNamespaces, onDemandFiles(onDemandLibraries)],
    define: {
      TOLLGATE_EMBEDDED_DEFAULT_BUNDLE: JSON.stringify(defaultBundle),
      // Parsed here as loadBundle parses it, so a start reads JSON instead of YAML.
      TOLLGATE_EMBEDDED_DEFAULT_BUNDLE_DOCUMENT: JSON.stringify(
        JSON.stringify(embeddedDocument(defaultBundle)),
      ),
      TOLLGATE_EMBEDDED_VERSION: JSON.stringify(TOLLGATE_VERSION),
    },
    // CommonJS dependencies call require() for node built-ins; give each ESM file one.
    banner: {
      js: "import { createRequire as __tollgateCreateRequire } from 'node:module';\nconst require = __tollgateCreateRequire(import.meta.url);",
    },
  });
  if (result.errors.length > 0)
    throw new Error(`esbuild failed: ${result.errors.map((e) => e.text).join('; ')}`);
  const onDemandInputs: string[] = [];
  for (const [name, entry] of [...onDemandLibraries].sort(([a], [b]) => a.localeCompare(b))) {
    const library = await build({
      ...common,
      entryPoints: [entry],
      outfile: join(out, 'on-demand', `${name}.cjs`),
      format: 'cjs',
    });
    onDemandInputs.push(...Object.keys(library.metafile.inputs));
  }
  // kubectl's YAML reader (WebAssembly), found beside the module that loads it.
  await copyFile(join(root, kubeYaml), join(out, 'kube-yaml.wasm.gz'));
  const inputs = [...Object.keys(result.metafile.inputs), ...onDemandInputs]
    // Repository files only: no dependency, no plugin's virtual module (`cjs-namespace:…`).
    .filter((file) => !file.includes('node_modules/') && !/^[\w-]+:/.test(file))
    .sort();
  inputs.push('bundles/finance-baseline.yaml', 'scripts/build.ts', kubeYaml);
  await writeFile(
    join(out, 'build-info.json'),
    `${JSON.stringify({ startedAt, inputs: [...new Set(inputs)].sort() }, null, 2)}\n`,
  );
  return { outdir: out, inputs };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const { outdir } = await buildCli(process.argv[2]);
  process.stderr.write(
    `[build] ${relative(process.cwd(), outdir) || '.'}/ in ${Math.round(performance.now() - started)} ms\n`,
  );
}
