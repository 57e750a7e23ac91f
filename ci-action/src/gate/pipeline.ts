/**
 * One check run as both edges of CI use it (the `tollgate check` CLI and the GitHub Action):
 * expand paths and globs, render Helm/Kustomize sources, evaluate with the shared engine, attribute
 * rendered findings to their templates, and flatten into issues.
 */
import { glob, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type {
  CompiledBundle,
  NamespaceContents,
  NamespaceLookup,
  PolicyServices,
} from '../../../policies/index.ts';
import { checkManifests, summarize } from './check.ts';
import type { CheckSummary, ResourceReport } from './check.ts';
import { discoverFiles, loadManifests, parseManifests, unrenderedChart } from './manifests.ts';
import type { Manifest, ManifestError } from './manifests.ts';
import { attributeRendered, renderSource, takeKustomizeOrigin } from './render.ts';
import type { RenderedSource, RenderSpec } from './render.ts';
import { collectIssues } from '../report/issues.ts';
import type { Issue } from '../report/issues.ts';

/** What to check. */
export interface PipelineOptions {
  /** Files, directories, glob patterns (`!pattern` excludes) or `-` for standard input. */
  paths: readonly string[];
  cwd: string;
  bundle: CompiledBundle;
  now: Date;
  readStdin: () => Promise<string>;
  render?: readonly RenderSpec[];
  /** Keep only these files (relative to cwd), e.g. the files a pull request changed. */
  onlyFiles?: ReadonlySet<string>;
  services?: PolicyServices;
  /** Trusted namespace labels (see {@link CheckOptions.namespaces}). */
  namespaces?: NamespaceLookup;
  /** What already exists per namespace (see {@link CheckOptions.namespaceContents}). */
  namespaceContents?: NamespaceContents;
  /** See {@link CheckOptions.defaultNamespace}. */
  defaultNamespace?: string;
}

/** A finished run. */
export interface PipelineResult {
  reports: ResourceReport[];
  errors: ManifestError[];
  summary: CheckSummary;
  issues: Issue[];
  /** Files that were checked (relative to cwd). */
  files: string[];
}

const globChars = /[*?[\]{}]/;

/**
 * Expands glob patterns (relative to cwd) to paths; plain paths and `-` pass through. `!pattern`
 * excludes. A match inside a Helm chart directory is not a manifest: the chart is returned instead.
 */
export async function expandPaths(
  patterns: readonly string[],
  cwd: string,
): Promise<{ paths: string[]; excludes: string[]; errors: ManifestError[]; charts: string[] }> {
  const paths: string[] = [];
  const excludes = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
  const errors: ManifestError[] = [];
  const charts = new Set<string>();
  for (const pattern of patterns) {
    if (pattern.startsWith('!')) continue;
    if (pattern === '-' || !globChars.test(pattern)) {
      paths.push(pattern);
      continue;
    }
    const matches: string[] = [];
    let matched = 0;
    for await (const match of glob(pattern, { cwd })) {
      matched++;
      const chart = await chartAround(match, cwd);
      if (chart) charts.add(chart);
      else matches.push(match);
    }
    if (matched === 0) {
      errors.push({ file: pattern, line: 0, column: 0, message: 'the glob pattern matches no file' });
    }
    paths.push(...matches.sort());
  }
  return { paths, excludes, errors, charts: [...charts].sort() };
}

const chartDirs = new Map<string, Promise<boolean>>();

/** The Helm chart directory (one holding a Chart.yaml) a glob match lies in, if any. */
async function chartAround(file: string, cwd: string): Promise<string | undefined> {
  let dir = dirname(file);
  while (dir !== '.' && dir !== '/' && dir !== '') {
    const key = resolve(cwd, dir);
    let isChart = chartDirs.get(key);
    if (!isChart) {
      isChart = exists(join(key, 'Chart.yaml'));
      chartDirs.set(key, isChart);
    }
    if (await isChart) return dir;
    dir = dirname(dir);
  }
  return undefined;
}

function excluded(file: string, excludes: readonly string[], cwd: string): boolean {
  const rel = relative(cwd, resolve(cwd, file));
  return excludes.some((pattern) => {
    const clean = pattern.replace(/\/+$/, '');
    return rel === clean || rel.startsWith(`${clean}/`) || matchesGlobSafe(rel, pattern);
  });
}

function matchesGlobSafe(path: string, pattern: string): boolean {
  return globChars.test(pattern) && globMatch(path, pattern);
}

/** Minimal glob matcher for excludes: `**` any path, `*` within a segment, `?` one character. */
export function globMatch(path: string, pattern: string): boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*' && pattern[i + 1] === '*') {
      source += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`).test(path);
}

/** Runs a whole check. */
export async function runPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const { cwd } = options;
  const expanded = await expandPaths(options.paths, cwd);
  const errors: ManifestError[] = [...expanded.errors];
  const fileArgs = expanded.paths.filter((p) => p !== '-');
  let selected: string[] = fileArgs;
  // Charts rendered by --render helm: are judged through their rendering, not file by file.
  const renderedCharts = new Set(
    (options.render ?? []).flatMap((spec) => (spec.kind === 'helm' ? [resolve(cwd, spec.chart)] : [])),
  );
  for (const chart of expanded.charts)
    if (!renderedCharts.has(resolve(cwd, chart)) && !excluded(chart, expanded.excludes, cwd))
      errors.push(unrenderedChart(chart));
  if (options.onlyFiles || expanded.excludes.length > 0) {
    const discovered = await discoverFiles(fileArgs, cwd, { renderedCharts });
    errors.push(...discovered.errors);
    const changed = [...(options.onlyFiles ?? [])];
    for (const chart of discovered.charts) {
      const inside = (file: string): boolean => file === chart || file.startsWith(`${chart}/`);
      if (excluded(chart, expanded.excludes, cwd)) continue;
      // With only the changed files, a chart matters when a change is inside it.
      if (options.onlyFiles && !changed.some((file) => inside(relative(cwd, resolve(cwd, file))))) continue;
      errors.push(unrenderedChart(chart));
    }
    selected = discovered.files.filter(
      (file) =>
        !excluded(file, expanded.excludes, cwd) &&
        (!options.onlyFiles || options.onlyFiles.has(relative(cwd, resolve(cwd, file)))),
    );
  }
  const texts = new Map<string, string>();
  const readStdin = async (): Promise<string> => {
    const text = await options.readStdin();
    texts.set('-', text);
    return text;
  };
  const wantsStdin = expanded.paths.includes('-');
  const set =
    selected.length > 0 || wantsStdin
      ? await loadManifests(wantsStdin ? [...selected, '-'] : selected, cwd, readStdin, { renderedCharts })
      : { manifests: [] as Manifest[], errors: [] as ManifestError[], files: 0 };
  errors.push(...set.errors);
  const manifests = [...set.manifests];
  let files = set.files;
  const sources = new Map<string, RenderedSource>();
  const origins = new Map<string, string>();
  for (const spec of options.render ?? []) {
    const rendered = await renderSource(spec, cwd);
    sources.set(rendered.name, rendered);
    texts.set(rendered.name, rendered.text);
    const parsed = parseManifests(rendered.name, rendered.text);
    if (rendered.kind === 'kustomize') {
      for (const manifest of parsed.manifests) {
        const origin = takeKustomizeOrigin(manifest.object as Record<string, unknown>);
        if (origin) origins.set(`${manifest.file}#${manifest.document.index}`, origin);
      }
    }
    manifests.push(...parsed.manifests);
    errors.push(...parsed.errors);
    files++;
  }
  const reports = await checkManifests(manifests, {
    bundle: options.bundle,
    now: options.now,
    ...(options.services ? { services: options.services } : {}),
    ...(options.namespaces ? { namespaces: options.namespaces } : {}),
    ...(options.namespaceContents ? { namespaceContents: options.namespaceContents } : {}),
    ...(options.defaultNamespace !== undefined ? { defaultNamespace: options.defaultNamespace } : {}),
  });
  if (texts.size > 0) {
    const objects = new Map(
      manifests.map((m) => [`${m.file}#${m.document.index}`, m.object as Record<string, unknown>]),
    );
    await attributeRendered(reports, texts, sources, cwd, objects, origins);
  }
  const summary = summarize(reports, errors, files);
  const checkedFiles = [...new Set(manifests.map((m) => m.file))];
  return { reports, errors, summary, issues: collectIssues(reports), files: checkedFiles };
}

/** Whether a path exists (used to report missing inputs with an actionable message). */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
